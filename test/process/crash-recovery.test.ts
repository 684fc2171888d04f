import { expect } from 'chai';
import { join } from 'node:path';
import superjson from 'superjson';
import { seededRng } from '../../src/core/rng.ts';
import type { Entry } from '../../src/core/types.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import type { KVOperation } from '../../examples/kvstore/operations.ts';
import { ProcessCluster } from '../helpers/processes.ts';

interface Status { role: string; leader: string | null; commitIndex: number; appliedIndex: number }

async function http(address: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> } | null> {
  try {
    const res = await fetch(`http://${address}${path}`, {
      method, signal: AbortSignal.timeout(3000), ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  } catch {
    return null; // refused, reset or timed out: the outcome is unknown
  }
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
    const alive = () => ids.filter((id) => { const c = cluster.nodes.get(id)!.child; return c.exitCode === null && c.signalCode === null; });
    const acknowledged: string[] = [];
    let ackWaiter: { count: number; resolve: () => void } | null = null;
    const acksReach = (count: number) => new Promise<void>((resolve) => {
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

    // One last write through every node commits everything before it; then all converge.
    let finalIndex = 0;
    for (;;) {
      const answer = await http(cluster.address('1'), 'PUT', '/kv/final', 'done');
      if (answer?.status === 200) {
        finalIndex = answer.json['index'] as number;
        break;
      }
    }
    for (const id of ids) {
      for (;;) {
        const view = await http(cluster.address(id), 'GET', '/status');
        if (((view?.json as Status | undefined)?.appliedIndex ?? 0) >= finalIndex) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await Promise.all(ids.map((id) => cluster.nodes.get(id)!.kill('SIGTERM')));

    // Read what each node has on disk.
    const logs = new Map<string, Entry[]>();
    for (const id of ids) {
      const storage = new FileStorage({ dir: join(cluster.dir, 'data', id), identity: { machineId: id, members: ids } });
      const { hardState, entries } = await storage.load();
      await storage.close();
      expect(hardState.commit, `node ${id} commit`).to.be.at.least(finalIndex);
      logs.set(id, entries.filter((e) => e.index <= finalIndex));
    }
    const reference = logs.get('1')!;
    expect(reference.map((e) => e.index)).to.deep.equal(Array.from({ length: finalIndex }, (_, i) => i + 1));
    for (const id of ids) expect(logs.get(id), `node ${id}'s committed log`).to.deep.equal(reference);

    const written = new Map<string, number>();
    for (const e of reference) {
      if (e.kind !== 'normal') continue;
      const op = superjson.parse<KVOperation>(e.data);
      if (op.kind === 'set') written.set(op.key, (written.get(op.key) ?? 0) + 1);
    }
    expect(acknowledged.length).to.be.greaterThan(KILLS * 5);
    for (const key of acknowledged) expect(written.get(key), `acknowledged write ${key}`).to.equal(1);
  });
});
