import { expect } from 'chai';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessCluster, waitUntil, type NodeStatus } from '../helpers/processes.ts';

/** What `/status` adds for snapshots. */
interface SnapshotStatus extends NodeStatus {
  readonly firstIndex: number;
  readonly snapshotIndex: number;
}

// 50,000 in npm test; GRAFT_SNAPSHOT_WRITES=200000 for the full run the issue asks for (about two minutes more).
const WRITES = Number(process.env['GRAFT_SNAPSHOT_WRITES'] ?? 50_000);
const KEYS = 1000;
const CONCURRENCY = 64;

/** Resident memory of a process, in MB, from /proc (Linux). */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

/** Bytes of the files in a node's data directory, in MB; a segment deleted between listing and measuring takes no space. */
function dirMb(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir)) bytes += statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0;
  return bytes / (1024 * 1024);
}

/** PUTs `count` writes over KEYS keys to `address`, CONCURRENCY at a time; resolves with how many were acknowledged. */
async function writeMany(address: () => string, from: number, count: number, value: (i: number) => unknown = (i) => ({ i })): Promise<number> {
  let next = from;
  let acknowledged = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < from + count) {
        const i = next++;
        for (;;) {
          try {
            const res = await fetch(`http://${address()}/kv/k${i % KEYS}`, {
              method: 'PUT',
              body: JSON.stringify(value(i)),
              headers: { 'content-type': 'application/json' },
              signal: AbortSignal.timeout(5000),
            });
            await res.arrayBuffer();
            if (res.status === 200) {
              acknowledged++;
              break;
            }
          } catch {
            // A leader change or a timeout: send it again (the store's sessions keep it applied once).
          }
        }
      }
    }),
  );
  return acknowledged;
}

/** Every key's value as node `address` holds it after a read barrier (a linearizable read there). */
async function stateOf(address: string, keys = KEYS): Promise<Map<string, unknown>> {
  const state = new Map<string, unknown>();
  for (let k = 0; k < keys; k++) {
    const res = await fetch(`http://${address}/kv/k${k}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { value?: unknown };
    if (res.status === 200) state.set(`k${k}`, body.value);
    else if (res.status !== 404) throw new Error(`GET k${k} on ${address}: ${res.status} ${JSON.stringify(body)}`);
  }
  return state;
}

describe('process: snapshots keep a long-running cluster bounded (Raft §7)', function () {
  this.timeout(600_000);
  let cluster: ProcessCluster;

  afterEach(async () => {
    await cluster?.stop();
  });

  it(`${WRITES} writes over ${KEYS} keys: data directories and memory do not grow with the number of writes`, async () => {
    cluster = await ProcessCluster.create(3, 300, { extraConfig: 'snapshot: { entries: 1000 }' });
    const { leader } = await cluster.agreedLeader(['1', '2', '3']);
    const checkpoints = [WRITES / 4, WRITES / 2, WRITES];
    const seen: { writes: number; dirMb: number[]; rssMb: number[] }[] = [];
    let written = 0;
    const started = Date.now();
    for (const checkpoint of checkpoints) {
      await writeMany(() => cluster.address(leader), written, checkpoint - written);
      written = checkpoint;
      const ids = ['1', '2', '3'];
      const sample = { writes: written, dirMb: ids.map((id) => dirMb(cluster.dataDir(id))), rssMb: ids.map((id) => rssMb(cluster.nodes.get(id)!.child.pid!)) };
      seen.push(sample);
      console.log(
        `      after ${written} writes (${Math.round(written / ((Date.now() - started) / 1000))}/s): data dir MB ${sample.dirMb.map((m) => m.toFixed(1)).join(' / ')}, RSS MB ${sample.rssMb.map((m) => m.toFixed(0)).join(' / ')}`,
      );
    }
    const statuses = (await Promise.all(['1', '2', '3'].map((id) => cluster.status(id)))) as SnapshotStatus[];
    for (const s of statuses) {
      expect(s.snapshotIndex, `node ${s.id} took snapshots`).to.be.greaterThan(WRITES - 2000);
      expect(s.appliedIndex - s.firstIndex, `node ${s.id} keeps only a short log`).to.be.below(3000);
    }
    // The bound: the log on disk is at most two 8 MiB segments (compaction deletes whole ones), plus
    // two snapshots of about 30 KB each; memory holds the state and at most ~2,000 entries.
    const [first, , last] = seen;
    for (let n = 0; n < 3; n++) {
      expect(last!.dirMb[n], `node ${n + 1}'s data directory`).to.be.below(17);
      expect(last!.rssMb[n]! - first!.rssMb[n]!, `node ${n + 1}'s RSS growth from ${first!.writes} to ${last!.writes} writes`).to.be.below(40);
    }
  });

  for (const loss of ['stopped', 'wiped'] as const) {
    const who = loss === 'stopped' ? 'a follower stopped' : 'a follower whose data directory was deleted';
    it(`${who} during 8,000 writes is brought up to date by InstallSnapshot and ends with the leader's state`, async () => {
      cluster = await ProcessCluster.create(3, 300, { extraConfig: 'snapshot: { entries: 1000 }' });
      const { leader } = await cluster.agreedLeader(['1', '2', '3']);
      const follower = ['1', '2', '3'].find((id) => id !== leader)!;
      await writeMany(() => cluster.address(leader), 0, 2000);
      await cluster.nodes.get(follower)!.kill('SIGKILL');
      if (loss === 'wiped') rmSync(cluster.dataDir(follower), { recursive: true, force: true });
      // Eight times the snapshot threshold: the leader has compacted its log far past the follower.
      const acknowledged = await writeMany(() => cluster.address(leader), 2000, 8_000);
      expect(acknowledged).to.equal(8_000);
      const before = (await cluster.status(leader)) as SnapshotStatus;
      const back = cluster.start(follower);
      await back.waitForLine(/receiving snapshot \d+/, 30_000);
      await back.waitForLine(/installed the leader's snapshot \d+/, 30_000);
      // Writes after the snapshot reach it through the log again.
      await writeMany(() => cluster.address(leader), 10_000, 500);
      const target = (await cluster.status(leader))!.appliedIndex;
      const caughtUp = (await waitUntil(
        'the follower to catch up',
        async () => {
          const s = (await cluster.status(follower)) as SnapshotStatus | null;
          return s !== null && s.appliedIndex >= target ? s : null;
        },
        30_000,
      )) as SnapshotStatus;
      expect(caughtUp.snapshotIndex, 'it holds a snapshot the leader compacted its log to').to.be.at.least(before.firstIndex - 1);
      expect(caughtUp.term, 'no election happened').to.equal(before.term);
      const [leaderState, followerState] = [await stateOf(cluster.address(leader)), await stateOf(cluster.address(follower))];
      expect(leaderState.size).to.equal(KEYS);
      expect(followerState).to.deep.equal(leaderState);
    });
  }

  it('a 50 MB state is snapshotted and sent to a follower while writes go on: no election, writes acknowledged throughout, memory bounded', async () => {
    cluster = await ProcessCluster.create(3, 300, { extraConfig: 'snapshot: { entries: 100 }' });
    const { leader, term } = await cluster.agreedLeader(['1', '2', '3']);
    const [follower, other] = ['1', '2', '3'].filter((id) => id !== leader) as [string, string];
    await cluster.nodes.get(follower)!.kill('SIGKILL');
    // 1,000 keys of 50 KB: a 50 MB state, which the leader snapshots.
    const big = (i: number): string => `${i}:`.padEnd(50_000, 'x');
    await writeMany(() => cluster.address(leader), 0, 1000, big);
    const taken = (await (await fetch(`http://${cluster.address(leader)}/admin/snapshot`, { method: 'POST' })).json()) as { index: number };
    const pid = (id: string): number => cluster.nodes.get(id)!.child.pid!;
    const back = cluster.start(follower);
    await back.waitForLine(/listening on/);
    const baseline = { leader: rssMb(pid(leader)), follower: rssMb(pid(follower)), other: rssMb(pid(other)) };
    const peak = { ...baseline };
    const sampler = setInterval(() => {
      for (const id of ['leader', 'follower', 'other'] as const) {
        const n = id === 'leader' ? leader : id === 'follower' ? follower : other;
        if (cluster.nodes.get(n)!.running()) peak[id] = Math.max(peak[id], rssMb(pid(n)));
      }
    }, 20);
    // Small writes go on while the snapshot travels; each must be acknowledged.
    let writing = true;
    let during = 0;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await writeMany(() => cluster.address(leader), 100_000 + i * 10, 10);
        during += 10;
      }
    })();
    const started = Date.now();
    await back.waitForLine(/installed the leader's snapshot \d+/, 60_000);
    const transferMs = Date.now() - started;
    const acknowledgedDuring = during;
    writing = false;
    await writer;
    clearInterval(sampler);
    const statuses = (await Promise.all(['1', '2', '3'].map((id) => cluster.status(id)))) as SnapshotStatus[];
    console.log(
      `      snapshot ${taken.index} (~50 MB) sent in ${transferMs} ms, ${acknowledgedDuring} writes acknowledged meanwhile; RSS MB baseline -> peak: leader ${baseline.leader.toFixed(0)} -> ${peak.leader.toFixed(0)}, follower ${baseline.follower.toFixed(0)} -> ${peak.follower.toFixed(0)}, the other follower (same state from the log) ${baseline.other.toFixed(0)}`,
    );
    for (const s of statuses) expect(s.term, `node ${s.id}'s term: no election happened`).to.equal(term);
    expect(acknowledgedDuring, 'writes were acknowledged while the snapshot travelled').to.be.greaterThan(0);
    // Chunks of 256 KB, four in flight: the leader streams from its file; the follower ends up holding
    // the state, as the other follower does, and little more.
    expect(peak.leader - baseline.leader, 'leader RSS growth during the transfer (MB)').to.be.below(48);
    expect(peak.follower - baseline.other, 'follower RSS peak beyond what holding the state costs the other follower (MB)').to.be.below(48);
    const [leaderState, followerState] = [await stateOf(cluster.address(leader)), await stateOf(cluster.address(follower))];
    expect(followerState).to.deep.equal(leaderState);
  });
});
