import { expect } from 'chai';
import { seededRng } from '../../src/core/rng.ts';
import { ProcessCluster } from '../helpers/processes.ts';
import { auditLogs, http, settleAndStop } from '../helpers/wal-audit.ts';

interface Status {
  leader: string | null;
}

describe('process: crash recovery with SIGKILL under concurrent writes', function () {
  this.timeout(240_000);
  const SEED = Number(process.env['GRAFT_CRASH_SEED'] ?? 20261124);
  const KILLS = 20;
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await ProcessCluster.create(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it(`loses no acknowledged write across ${KILLS} kills (seed ${SEED})`, async () => {
    const rng = seededRng(SEED);
    const ids = ['1', '2', '3'];
    const alive = () =>
      ids.filter((id) => {
        const c = cluster.nodes.get(id)!.child;
        return c.exitCode === null && c.signalCode === null;
      });
    const acknowledged: string[] = [];
    let ackWaiter: { count: number; resolve: () => void } | null = null;
    const acksReach = (count: number) =>
      new Promise<void>((resolve) => {
        if (acknowledged.length >= count) resolve();
        else ackWaiter = { count, resolve };
      });

    let writing = true;
    const writers = Array.from({ length: 4 }, async (_, client) => {
      for (let seq = 0; writing; seq++) {
        const key = `w-${client}-${seq}`;
        const targets = alive();
        const target = targets[seq % targets.length]!;
        const answer = await http(cluster.address(target), 'PUT', `/kv/${key}`, seq);
        if (answer?.status === 200) {
          acknowledged.push(key);
          if (ackWaiter !== null && acknowledged.length >= ackWaiter.count) {
            ackWaiter.resolve();
            ackWaiter = null;
          }
        }
      }
    });

    let leaderKills = 0;
    for (let kill = 1; kill <= KILLS; kill++) {
      await acksReach(acknowledged.length + 5); // let writes make progress between faults
      let victim = ids[rng.nextInt(3)]!;
      if (kill % 5 === 1) {
        const view = await http(cluster.address(alive()[0]!), 'GET', '/status');
        const leader = (view?.json as Status | undefined)?.leader;
        if (leader) {
          victim = leader;
          leaderKills++;
        }
      }
      await cluster.nodes.get(victim)!.kill('SIGKILL');
      // The node stays down for a random while, then comes back on the same data directory.
      await new Promise((resolve) => setTimeout(resolve, rng.nextInt(300)));
      await cluster.start(victim).waitForLine(/listening on/);
    }
    writing = false;
    await Promise.all(writers);
    expect(leaderKills, 'the leader was killed at least once').to.be.greaterThan(0);

    // One last write commits everything before it; all converge and stop; then their disks are read.
    const finalIndex = await settleAndStop(cluster, ids);
    const written = await auditLogs(cluster, ids, finalIndex);
    expect(acknowledged.length).to.be.greaterThan(KILLS * 5);
    for (const key of acknowledged) expect(written.get(key), `acknowledged write ${key}`).to.equal(1);
  });
});
