import { expect } from 'chai';
import { join } from 'node:path';
import superjson from 'superjson';
import type { Entry } from '../../src/core/types.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { SESSION_CAPACITY, SessionTable } from '../../src/session/session-table.ts';
import type { KVOperation } from '../../src/cli/apps/kvstore/operations.ts';
import type { ProcessCluster } from './processes.ts';

/** One HTTP request to a node; null when the outcome is unknown (refused, reset, no answer in time). */
export async function http(address: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> } | null> {
  try {
    const res = await fetch(`http://${address}${path}`, {
      method,
      signal: AbortSignal.timeout(3000),
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  } catch {
    return null;
  }
}

/** The leader node `via` names, once some node has announced it leads and `via` has heard of it. */
export async function knownLeader(cluster: ProcessCluster, via = '1'): Promise<string> {
  await Promise.race([...cluster.nodes.values()].map((n) => n.waitForLine(/became Leader/)));
  for (;;) {
    const leader = (await http(cluster.address(via), 'GET', '/status'))?.json['leader'];
    if (typeof leader === 'string') return leader;
  }
}

/**
 * Ends a process test's writes: one last write through node `via` commits everything before it,
 * every node applies it, then all stop cleanly. Returns that write's index.
 */
export async function settleAndStop(cluster: ProcessCluster, ids: readonly string[], via = '1'): Promise<number> {
  let finalIndex = 0;
  while (finalIndex === 0) {
    const answer = await http(cluster.address(via), 'PUT', '/kv/final', 'done');
    if (answer?.status === 200) finalIndex = answer.json['index'] as number;
  }
  for (const id of ids) {
    for (;;) {
      const view = await http(cluster.address(id), 'GET', '/status');
      if (((view?.json['appliedIndex'] as number | undefined) ?? 0) >= finalIndex) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  await Promise.all(ids.map((id) => cluster.nodes.get(id)!.kill('SIGTERM')));
  return finalIndex;
}

/**
 * Reads every node's write-ahead log from disk and checks that all hold the same committed log up to
 * `throughIndex`. Returns how many times each key was set by applying that log: copies of an
 * operation that was sent again are in the log too, and the session table skips them (thesis §6.3).
 */
export async function auditLogs(cluster: ProcessCluster, ids: readonly string[], throughIndex: number): Promise<Map<string, number>> {
  const logs = new Map<string, Entry[]>();
  for (const id of ids) {
    const storage = new FileStorage({ dir: join(cluster.dir, 'data', id), identity: { machineId: id, members: [...ids] } });
    const { hardState, entries } = await storage.load();
    await storage.close();
    expect(hardState.commit, `node ${id} commit`).to.be.at.least(throughIndex);
    logs.set(
      id,
      entries.filter((e) => e.index <= throughIndex),
    );
  }
  const reference = logs.get(ids[0]!)!;
  expect(reference.map((e) => e.index)).to.deep.equal(Array.from({ length: throughIndex }, (_, i) => i + 1));
  for (const id of ids) expect(logs.get(id), `node ${id}'s committed log`).to.deep.equal(reference);
  const written = new Map<string, number>();
  const sessions = new SessionTable(SESSION_CAPACITY);
  for (const e of reference) {
    if (e.kind === 'session') sessions.open(e.index);
    const stamp = e.stamp;
    if (e.kind !== 'normal' || stamp === undefined || sessions.verdict(stamp.session, stamp.seq, stamp.lowestOutstanding).kind !== 'apply') continue;
    sessions.record(stamp.session, stamp.seq, { ok: true, value: null });
    const op = superjson.parse<KVOperation>(e.data);
    if (op.kind === 'set') written.set(op.key, (written.get(op.key) ?? 0) + 1);
  }
  return written;
}
