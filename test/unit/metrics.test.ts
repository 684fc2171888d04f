import { expect } from 'chai';
import { Registry } from 'prom-client';
import { GraftError } from '../../src/errors.ts';
import { GraftInstance } from '../../src/graft.ts';
import { silentLogger } from '../../src/logger.ts';
import { ElectionTally } from '../../src/metrics/election-tally.ts';
import { registerHistogram } from '../../src/metrics/histogram-metric.ts';
import { SecondsHistogram } from '../../src/metrics/seconds-histogram.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { parsePrometheusText, sample } from '../helpers/prometheus-text.ts';

describe('metrics', () => {
  describe('SecondsHistogram', () => {
    it('counts a value in the first bucket whose bound it does not exceed (le), and above them all only in +Inf', () => {
      const h = new SecondsHistogram([0.01, 0.1, 1]);
      for (const seconds of [0.005, 0.01, 0.05, 0.1, 0.5, 2]) h.observe(seconds);
      const { buckets, count, sum } = h.read();
      expect(buckets).to.deep.equal([
        { le: 0.01, count: 2 },
        { le: 0.1, count: 4 },
        { le: 1, count: 5 },
      ]);
      expect(count).to.equal(6);
      expect(sum).to.be.closeTo(2.665, 1e-12);
      h.reset();
      expect(h.read()).to.deep.equal({ buckets: [0.01, 0.1, 1].map((le) => ({ le, count: 0 })), count: 0, sum: 0 });
    });

    it('refuses bounds that do not ascend', () => {
      expect(() => new SecondsHistogram([0.1, 0.1])).to.throw('histogram bounds must ascend: 0.1, 0.1');
    });

    it('shows in a registry as a Prometheus histogram: cumulative buckets, +Inf, sum and count', async () => {
      const registry = new Registry();
      const h = new SecondsHistogram([0.5, 1]);
      registerHistogram(registry, 'test_seconds', 'A test', h);
      h.observe(0.25);
      h.observe(3);
      expect(await registry.metrics()).to.equal(
        [
          '# HELP test_seconds A test',
          '# TYPE test_seconds histogram',
          'test_seconds_bucket{le="0.5"} 1',
          'test_seconds_bucket{le="1"} 1',
          'test_seconds_bucket{le="+Inf"} 2',
          'test_seconds_sum 3.25',
          'test_seconds_count 2',
          '',
        ].join('\n'),
      );
      registry.resetMetrics();
      expect(parsePrometheusText(await registry.metrics()).get('test_seconds_count')).to.equal(0);
    });
  });

  describe('ElectionTally (an election is a term this node stood in, §5.2)', () => {
    it('counts a campaign once per term, and a win once per term led', () => {
      const tally = new ElectionTally();
      tally.noticed('Follower', 1);
      tally.noticed('PreCandidate', 1); // a pre-vote changes no term: no election
      expect([tally.started, tally.won]).to.deep.equal([0, 0]);
      tally.noticed('Candidate', 2);
      tally.noticed('Candidate', 3); // timed out, stood again
      tally.noticed('Leader', 3);
      tally.noticed('Leader', 3); // seen again in the same term (another soft state): not another win
      expect([tally.started, tally.won]).to.deep.equal([2, 1]);
    });

    it('counts a win seen without its campaign (a one-voter cluster) as started too', () => {
      const tally = new ElectionTally();
      tally.noticed('Leader', 1);
      expect([tally.started, tally.won]).to.deep.equal([1, 1]);
    });
  });

  describe('GraftInstance.metrics', () => {
    const lone = (metricsRegistry?: Registry): GraftInstance<unknown, unknown> =>
      new GraftInstance<unknown, unknown>({
        config: { electionTimeout: 50, configuration: { 1: '127.0.0.1:1' } },
        machineId: 1,
        applicator: (op) => op,
        serializer: jsonSerializer(),
        logger: silentLogger,
        storage: new MemoryStorage(),
        transport: new MemoryNetwork().transport('1'),
        ...(metricsRegistry === undefined ? {} : { metricsRegistry }),
      });

    it("puts the metrics in the application's registry when given one, and reads the node's state when scraped", async () => {
      const registry = new Registry();
      const graft = lone(registry);
      expect(graft.metrics).to.equal(registry);
      // Before start there is no state: every role line reads 0.
      const unborn = parsePrometheusText(await registry.metrics());
      expect(['Follower', 'Leader', 'Stopped'].map((role) => sample(unborn, 'graft_role', { role }))).to.deep.equal([0, 0, 0]);
      await graft.start();
      await graft.ready();
      expect(await graft.applyOperation('x')).to.equal('x');
      const running = parsePrometheusText(await registry.metrics());
      expect(sample(running, 'graft_role', { role: 'Leader' })).to.equal(1);
      expect(sample(running, 'graft_term')).to.equal(graft.status().term);
      expect(sample(running, 'graft_applied_index')).to.equal(graft.status().appliedIndex);
      expect(sample(running, 'graft_commit_latency_seconds_count')).to.equal(1);
      expect(sample(running, 'graft_elections_won_total')).to.equal(1);
      await graft.stop();
      const stopped = parsePrometheusText(await registry.metrics());
      expect(sample(stopped, 'graft_role', { role: 'Stopped' })).to.equal(1);
      expect(sample(stopped, 'graft_role', { role: 'Leader' })).to.equal(0);
    });

    it('has a registry of its own by default, so two instances in one process do not clash', () => {
      expect(lone().metrics).to.not.equal(lone().metrics);
    });

    it('refuses a registry that already holds the metrics of another instance, and anything that is not a registry', () => {
      const registry = new Registry();
      lone(registry);
      const clash = (): unknown => lone(registry);
      expect(clash).to.throw(
        GraftError,
        /^GraftInstance options: metricsRegistry: A metric with the name graft_role has already been registered\. Each GraftInstance needs a registry of its own\.$/,
      );
      expect(() => lone({} as never)).to.throw(
        GraftError,
        'GraftInstance options: metricsRegistry must be a prom-client Registry (new Registry() from prom-client)',
      );
    });
  });
});
