import { expect } from 'chai';
import { ProcessCluster, runCli } from '../helpers/processes.ts';
import { auditLogs, http, settleAndStop } from '../helpers/wal-audit.ts';

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
    await Promise.race(ids.map((id) => cluster.nodes.get(id)!.waitForLine(/became Leader/)));
    const leaderOf = async (): Promise<string | null> => ((await http(cluster.address('1'), 'GET', '/status'))?.json['leader'] as string | null) ?? null;
    let leader = await leaderOf();
    while (leader === null) leader = await leaderOf();

    const acknowledged: string[] = [];
    let writing = true;
    const writers = Array.from({ length: 4 }, async (_, client) => {
      for (let seq = 0; writing; seq++) {
        const key = `t-${client}-${seq}`;
        const answer = await http(cluster.address(ids[seq % 3]!), 'PUT', `/kv/${key}`, seq);
        if (answer?.status === 200) acknowledged.push(key);
      }
    });
    const acks = async (count: number): Promise<void> => {
      while (acknowledged.length < count) await new Promise((resolve) => setImmediate(resolve));
    };

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
    expect(await leaderOf()).to.equal(leader);

    const finalIndex = await settleAndStop(cluster, ids);
    const written = await auditLogs(cluster, ids, finalIndex);
    for (const key of acknowledged) expect(written.get(key), `acknowledged write ${key}`).to.equal(1);
  });
});
