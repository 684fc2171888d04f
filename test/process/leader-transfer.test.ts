import { expect } from 'chai';
import { ProcessCluster, runCli } from '../helpers/processes.ts';
import { auditLogs, http, knownLeader, settleAndStop } from '../helpers/wal-audit.ts';

describe('process: graft leader transfer moves the leader between real nodes under a write burst', function () {
  this.timeout(120_000);
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await ProcessCluster.create(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('refuses a machine that is not a member, naming the members', async () => {
    const run = await runCli(['leader', 'transfer', '9', '--cluster', cluster.address('2')]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('machine id "9" is not a member (members: 1, 2, 3)');
  });

  it('every write acknowledged before, during and after two transfers is present exactly once', async () => {
    const ids = ['1', '2', '3'];
    let leader = await knownLeader(cluster);

    const acknowledged: string[] = [];
    /** Waiters for the acknowledged count to reach a number, released as writes are acknowledged. */
    const waiters: { count: number; resolve: () => void }[] = [];
    let writing = true;
    const writers = Array.from({ length: 4 }, async (_, client) => {
      for (let seq = 0; writing; seq++) {
        const key = `t-${client}-${seq}`;
        const answer = await http(cluster.address(ids[seq % 3]!), 'PUT', `/kv/${key}`, seq);
        if (answer?.status !== 200) continue;
        acknowledged.push(key);
        for (let i = waiters.length - 1; i >= 0; i--) if (acknowledged.length >= waiters[i]!.count) waiters.splice(i, 1)[0]!.resolve();
      }
    });
    const acks = (count: number): Promise<void> =>
      acknowledged.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }));

    for (const round of [1, 2]) {
      await acks(round * 50);
      const target = ids.find((id) => id !== leader)!;
      const run = await runCli(['leader', 'transfer', target, '--cluster', cluster.address(ids[round]!)]);
      expect(run.stderr, 'graft leader transfer').to.equal('');
      expect(run.stdout.trim()).to.equal(`leader is now ${target} (was ${leader})`);
      leader = target;
    }
    await acks(150);
    writing = false;
    await Promise.all(writers);
    expect((await http(cluster.address('1'), 'GET', '/status'))?.json['leader']).to.equal(leader);

    const finalIndex = await settleAndStop(cluster, ids);
    const written = await auditLogs(cluster, ids, finalIndex);
    for (const key of acknowledged) expect(written.get(key), `acknowledged write ${key}`).to.equal(1);
  });
});
