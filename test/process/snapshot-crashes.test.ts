import { expect } from 'chai';
import { seededRng } from '../../src/core/rng.ts';
import { ProcessCluster, waitUntil, type NodeProcess } from '../helpers/processes.ts';

// 10 in npm test; GRAFT_SNAPSHOT_KILLS=50 or more for a longer hunt.
const ROUNDS = Number(process.env['GRAFT_SNAPSHOT_KILLS'] ?? 10);
const SEED = Number(process.env['GRAFT_SNAPSHOT_KILL_SEED'] ?? 20261125);
/** A state of 400 keys of 40 KB: 16 MB, so that taking or installing a snapshot takes a while to kill into. */
const BIG_KEYS = 400;
const big = (k: number): string => `${k}:`.padEnd(40_000, 'y');

async function put(address: string, key: string, value: unknown): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/kv/${key}`, {
      method: 'PUT',
      body: JSON.stringify(value),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Node `address`'s own copy of `key` (no read barrier: the caller made sure it caught up). */
async function localValue(address: string, key: string): Promise<unknown> {
  const res = await fetch(`http://${address}/kv/${key}?consistency=stale`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { value?: unknown };
  return res.status === 200 ? body.value : undefined;
}

/** When `node` logged the first line matching `pattern` (log lines begin with an ISO timestamp), in ms since the epoch. */
function loggedAt(node: NodeProcess, pattern: RegExp): number {
  const line = node.lines.find((l) => pattern.test(l));
  const at = Date.parse(line?.split(' ')[0] ?? '');
  if (Number.isNaN(at)) throw new Error(`node ${node.id} logged no timestamped line matching ${pattern}`);
  return at;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('process: SIGKILL while a snapshot is taken or installed (Raft §7)', function () {
  this.timeout(900_000);
  const ids = ['1', '2', '3'];
  let cluster: ProcessCluster;
  /** Keys whose write was acknowledged: every one must be on every node at the end. */
  const acknowledged: string[] = [];
  let writing = true;
  let writers: Promise<void>[] = [];
  const alive = (): string[] => ids.filter((id) => cluster.nodes.get(id)!.running());

  before(async () => {
    cluster = await ProcessCluster.create(3, 300, { extraConfig: 'snapshot: { entries: 100000 }' });
    const { leader } = await cluster.agreedLeader(ids);
    for (let k = 0; k < BIG_KEYS; k += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => put(cluster.address(leader), `big${k + i}`, big(k + i))));
    }
    // Writes go on through every fault, to whichever nodes are up (followers forward them), each
    // to a key of its own so that the end can check every acknowledged one.
    writers = Array.from({ length: 2 }, async (_, w) => {
      for (let n = 0; writing; n++) {
        const targets = alive();
        const key = `a${w}-${n}`;
        if (targets.length > 0 && (await put(cluster.address(targets[n % targets.length]!), key, n))) acknowledged.push(key);
        await delay(20);
      }
    });
  });

  after(async () => {
    writing = false;
    await Promise.all(writers);
    await cluster?.stop();
  });

  /** Restarts `id` and waits until it serves. */
  async function restart(id: string): Promise<NodeProcess> {
    const node = cluster.start(id);
    await node.waitForLine(/listening on/, 30_000);
    return node;
  }

  /** Takes a snapshot on `id` (POST /admin/snapshot); resolves with how long it took, or null when it failed (a kill). */
  async function snapshotOn(id: string): Promise<number | null> {
    const started = Date.now();
    try {
      const res = await fetch(`http://${cluster.address(id)}/admin/snapshot`, { method: 'POST', signal: AbortSignal.timeout(60_000) });
      await res.arrayBuffer();
      return res.status === 200 ? Date.now() - started : null;
    } catch {
      return null;
    }
  }

  it(`${ROUNDS} kills while a node takes a snapshot: it restarts on a consistent state`, async () => {
    const rng = seededRng(SEED);
    const takes = (await snapshotOn('1'))!;
    let during = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const id = ids[rng.nextInt(3)]!;
      const node = cluster.nodes.get(id)!;
      const taken = node.lines.filter((l) => /snapshot taken at index/.test(l)).length;
      const snapshot = snapshotOn(id);
      await delay(rng.nextInt(Math.max(1, Math.round(takes * 1.2))));
      await node.kill('SIGKILL');
      await snapshot;
      if (node.lines.filter((l) => /snapshot taken at index/.test(l)).length === taken) during++;
      await restart(id);
      await cluster.agreedLeader(ids, 30_000);
    }
    console.log(`      ${during} of ${ROUNDS} kills landed before the snapshot was durable (a snapshot took ${takes} ms)`);
    expect(during, 'kills that landed while the snapshot was being written').to.be.at.least(ROUNDS / 4);
  });

  it(`${ROUNDS} kills while a follower installs the leader's snapshot: it restarts on a consistent state`, async () => {
    const rng = seededRng(SEED + 1);
    const { leader } = await cluster.agreedLeader(ids, 30_000);
    const follower = ids.find((id) => id !== leader)!;
    /** Stops the follower (if it runs) and leaves it behind the leader's compacted log, so that it needs the snapshot. */
    const leaveBehind = async (): Promise<void> => {
      await cluster.nodes.get(follower)!.kill('SIGKILL');
      // More writes than the log keeps behind a snapshot (1,000 entries), over a few keys.
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < 1500) {
            const n = next++;
            while (!(await put(cluster.address(leader), `filler${n % 50}`, n)));
          }
        }),
      );
      expect(await snapshotOn(leader), 'the leader took a snapshot').to.not.equal(null);
    };
    let installMs = 0;
    let during = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      await leaveBehind();
      const node = await restart(follower);
      await node.waitForLine(/receiving snapshot \d+/, 60_000);
      if (round === 0) {
        // The first install runs to the end: the node's own log says how long it took, the time to kill into.
        await node.waitForLine(/installed the leader's snapshot/, 60_000);
        installMs = loggedAt(node, /installed the leader's snapshot/) - loggedAt(node, /receiving snapshot/);
        continue;
      }
      await delay(rng.nextInt(Math.max(1, Math.round(installMs * 1.2))));
      await node.kill('SIGKILL');
      if (!node.lines.some((l) => /installed the leader's snapshot/.test(l))) during++;
    }
    console.log(`      ${during} of ${ROUNDS} kills landed during the installation (an installation took ${installMs} ms)`);
    expect(during, 'kills that landed while the snapshot was being installed').to.be.at.least(ROUNDS / 4);
    await restart(follower);
  });

  it('afterwards every node holds every acknowledged write and the same state', async () => {
    writing = false;
    await Promise.all(writers);
    for (const id of ids) if (!cluster.nodes.get(id)!.running()) await restart(id);
    const { leader } = await cluster.agreedLeader(ids, 30_000);
    expect(await put(cluster.address(leader), 'final', 'done')).to.equal(true);
    const target = (await cluster.status(leader))!.appliedIndex;
    for (const id of ids) await waitUntil(`node ${id} to catch up`, async () => ((await cluster.status(id))?.appliedIndex ?? 0) >= target, 60_000);
    const keys = [...acknowledged, ...Array.from({ length: BIG_KEYS }, (_, k) => `big${k}`)];
    for (const id of ids) {
      const missing: string[] = [];
      for (const key of keys) {
        const value = await localValue(cluster.address(id), key);
        const expected = key.startsWith('big') ? big(Number(key.slice(3))) : Number(key.split('-')[1]);
        if (value !== expected) missing.push(key);
      }
      expect(missing, `node ${id}: acknowledged writes missing or wrong (of ${keys.length})`).to.deep.equal([]);
    }
    console.log(`      ${acknowledged.length} acknowledged writes, all on every node`);
  });
});
