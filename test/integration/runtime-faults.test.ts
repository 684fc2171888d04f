import { expect } from 'chai';
import { seededRng } from '../../src/core/rng.ts';
import { parseClusterConfig } from '../../src/config.ts';
import { GraftError } from '../../src/errors.ts';
import { GraftInstance } from '../../src/graft.ts';
import { silentLogger } from '../../src/logger.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';

const codeOf = (p: Promise<unknown>): Promise<string | null> =>
  p.then(
    () => null,
    (e: unknown) => (e instanceof GraftError ? e.code : String(e)),
  );

describe('runtime: faults on the in-memory network', function () {
  this.timeout(60_000);
  let network: MemoryNetwork;
  let cluster: GraftCluster;

  beforeEach(() => {
    network = new MemoryNetwork();
  });

  afterEach(async () => {
    await cluster?.stop();
  });

  it("an isolated leader's write is not lost: after healing it is sent again and applied once, everywhere", async () => {
    cluster = await GraftCluster.create(3, { transport: (id) => network.transport(id), requestTimeoutMs: 20_000 });
    const oldLeader = await cluster.agreedLeader();
    network.isolate(oldLeader);
    const stranded = cluster.node(oldLeader).graft.applyOperation('stranded');

    const majority = [...cluster.nodes.keys()].filter((id) => id !== oldLeader);
    await waitUntil(cluster.instances(), () => majority.some((id) => cluster.node(id).graft.status().role === 'Leader'), 'a leader on the majority side');
    await Promise.all(majority.map((id, i) => cluster.node(id).graft.applyOperation(`majority-${i}`)));
    for (const id of cluster.nodes.keys()) expect(cluster.node(id).applied, `node ${id} before healing`).to.not.include('stranded');

    network.heal();
    // §5.3: the new leader overwrites the old leader's uncommitted copy; the old leader's session
    // notices and sends the operation again (thesis §6.3), so the caller's write is applied once.
    expect(await stranded).to.be.a('number');
    await waitUntil(cluster.instances(), () => [...cluster.nodes.values()].every((n) => n.applied.length === 3), 'every node to apply all three');
    for (const id of cluster.nodes.keys()) {
      expect(cluster.node(id).applied, `node ${id}`).to.have.members(['majority-0', 'majority-1', 'stranded']);
      expect(cluster.node(id).applied).to.deep.equal(cluster.node(majority[0]!).applied);
    }
  });

  it('an operation no quorum answers fails at its deadline, TIMEOUT_OUTCOME_UNKNOWN, and no longer counts as waiting', async () => {
    cluster = await GraftCluster.create(3, {
      transport: (id) => network.transport(id),
      requestTimeoutMs: 300,
      instance: { maxPendingOperations: 2 },
    });
    const leader = await cluster.agreedLeader();
    network.isolate(leader);
    const graft = cluster.node(leader).graft;
    const started = performance.now();
    const outcomes = await Promise.all([codeOf(graft.applyOperation('a')), codeOf(graft.applyOperation('b')), codeOf(graft.applyOperation('c'))]);
    expect(outcomes, 'two wait, the third is over maxPendingOperations').to.deep.equal(['TIMEOUT_OUTCOME_UNKNOWN', 'TIMEOUT_OUTCOME_UNKNOWN', 'OVERLOADED']);
    expect(performance.now() - started).to.be.within(290, 3_000);
    // Both deadlines passed and released their places: two more may wait again.
    const again = [codeOf(graft.applyOperation('d')), codeOf(graft.applyOperation('e'))];
    expect(await Promise.all(again)).to.deep.equal(['TIMEOUT_OUTCOME_UNKNOWN', 'TIMEOUT_OUTCOME_UNKNOWN']);
  });

  it('under 20% message loss, every acknowledged write is applied once, in one order, everywhere', async () => {
    cluster = await GraftCluster.create(3, { transport: (id) => network.transport(id), requestTimeoutMs: 3_000 });
    await cluster.agreedLeader();
    const rng = seededRng(2026);
    network.setDropRate(0.2, () => rng.nextInt(1_000_000) / 1_000_000);
    const ids = [...cluster.nodes.keys()];
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        cluster
          .node(ids[i % 3]!)
          .graft.applyOperation(`w${i}`)
          .then(
            () => `w${i}`,
            (e: GraftError) => e.code,
          ),
      ),
    );
    network.heal();
    const acknowledged = outcomes.filter((o) => o.startsWith('w'));
    const failures = outcomes.filter((o) => !o.startsWith('w'));
    // Lost requests and answers are sent again under the caller's session, so the only honest
    // failure left is a deadline passing, and most writes make it through.
    for (const f of failures) expect(f).to.equal('TIMEOUT_OUTCOME_UNKNOWN');
    expect(acknowledged.length).to.be.greaterThan(250);

    // Settle: one more write through the leader commits everything before it, everywhere.
    const leader = await cluster.agreedLeader();
    await cluster.node(leader).graft.applyOperation('final');
    await waitUntil(cluster.instances(), () => ids.every((id) => cluster.node(id).applied.includes('final')), 'every node to apply the final write');
    const order = cluster.node(leader).applied;
    for (const id of ids) expect(cluster.node(id).applied, `node ${id}`).to.deep.equal(order);
    for (const w of acknowledged)
      expect(
        order.filter((x) => x === w),
        w,
      ).to.have.length(1);
    for (let i = 0; i < 300; i++) expect(order.filter((x) => x === `w${i}`).length, `w${i} applied at most once`).to.be.at.most(1);
  });
});

describe('runtime: a failing applicator or disk', function () {
  this.timeout(30_000);

  const config = parseClusterConfig('electionTimeout: 100\nconfiguration:\n  1: 127.0.0.1:1\n  2: 127.0.0.1:2\n  3: 127.0.0.1:3\n');

  function instance(network: MemoryNetwork, id: string, applicator: (op: string) => unknown, storage = new MemoryStorage()) {
    return new GraftInstance<string>({
      config,
      machineId: id,
      applicator,
      serializer: jsonSerializer<string>(),
      logger: silentLogger,
      storage,
      transport: network.transport(id),
    });
  }

  it('an applicator that throws fails that caller with APPLY_FAILED, reports an error event, and the node goes on', async () => {
    const network = new MemoryNetwork();
    const errors: Error[] = [];
    const nodes = ['1', '2', '3'].map((id) =>
      instance(network, id, (op) => {
        if (op === 'boom') throw new Error('cannot apply boom');
        return op.toUpperCase();
      }).on('error', (e) => errors.push(e)),
    );
    await Promise.all(nodes.map((n) => n.start()));
    try {
      const node = nodes[0]!;
      expect(await codeOf(node.applyOperation('boom'))).to.equal('APPLY_FAILED');
      expect(await node.applyOperation('fine')).to.equal('FINE');
      await waitUntil(nodes as GraftInstance<string, unknown>[], () => errors.length === 3, 'every node to report the throw');
      expect(errors[0]!.message).to.match(/applicator threw at index \d+: cannot apply boom/);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  it('a node whose disk fails stops with an error event and rejects its callers; the others go on', async () => {
    class FailingStorage extends MemoryStorage {
      failing = false;
      override async append(entries: Parameters<MemoryStorage['append']>[0]): Promise<void> {
        if (this.failing) throw new Error('EIO: i/o error, write');
        return super.append(entries);
      }
    }
    const network = new MemoryNetwork();
    const broken = new FailingStorage();
    const nodes = ['1', '2', '3'].map((id) => instance(network, id, (op) => op, id === '1' ? broken : new MemoryStorage()));
    const fatal = new Promise<Error>((resolve) => nodes[0]!.once('error', resolve));
    const stopped = new Promise<Error | null>((resolve) => nodes[0]!.once('stopped', resolve));
    await Promise.all(nodes.map((n) => n.start()));
    try {
      await nodes[1]!.applyOperation('before');
      broken.failing = true;
      const pending = codeOf(nodes[0]!.applyOperation('during'));
      expect((await fatal).message).to.match(/EIO/);
      // It says it stopped at once, whatever role it had: nobody reads a stale role from it.
      expect(nodes[0]!.status()).to.include({ role: 'Stopped', leader: null });
      expect(nodes[0]!.isRunning()).to.equal(false);
      expect(await pending).to.be.oneOf(['SHUTDOWN', null]);
      expect(await codeOf(nodes[0]!.applyOperation('after the failure'))).to.equal('SHUTDOWN');
      expect((await stopped)?.message).to.match(/EIO/);
      expect(await nodes[2]!.applyOperation('after')).to.equal('after');
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
});
