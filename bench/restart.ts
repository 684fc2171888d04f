import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FileStorage, parseClusterConfig, silentLogger, superjsonSerializer, type Entry } from 'graft-raft';
import { MemoryNetwork } from 'graft-raft/testing';
// The kvstore app that `graft start` hosts: not part of the public API, so imported from its source.
import { KVStore } from '../src/cli/apps/kvstore/kv-store.ts';
import type { KVOperation } from '../src/cli/apps/kvstore/operations.ts';
import { fmt, ratio, table } from './measure.ts';

const KEYS = 1000;
const BATCH = 10_000;
const KEY = 'k7';

// One member, and no snapshot taken on its own while the restarts are measured (the policy's limits
// are far beyond the history), so the first restart replays every entry.
const config = parseClusterConfig(`electionTimeout: 100
snapshot:
  entries: 1000000000000
  bytes: 1000000000000000
configuration:
  1: 127.0.0.1:1
`);

/** The history, written straight into the node's log as the store would have logged it: much faster than through Raft. */
async function writeHistory(dir: string, writes: number): Promise<void> {
  // The directory and identity GraftInstance's default storage uses for machine '1' (`<dataDir>/<id>`).
  const storage = new FileStorage({ dir, identity: { machineId: '1', members: [...config.members.keys()].sort() } });
  await storage.load();
  const serializer = superjsonSerializer<KVOperation>();
  for (let first = 1; first <= writes; first += BATCH) {
    const batch: Entry[] = [];
    for (let i = first; i <= Math.min(writes, first + BATCH - 1); i++) {
      batch.push({ index: i, term: 1, kind: 'normal', data: serializer.toString({ kind: 'set', key: `k${i % KEYS}`, value: i }) });
    }
    await storage.append(batch);
  }
  await storage.saveHardState({ term: 1, vote: '1', commit: writes });
  await storage.close();
}

/**
 * Starts the store on `dataDir` and reads KEY linearizably: the time until `start()` resolves (storage
 * loaded) and until the read resolves (elected, caught up), and the longest event-loop stall meanwhile.
 */
async function restart(dataDir: string): Promise<{ store: KVStore; startMs: number; ms: number; stallMs: number; value: unknown }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const store = new KVStore({ config, machineId: '1', logger: silentLogger, dataDir, transport: new MemoryNetwork({ useCodec: false }).transport('1') });
  await store.graft.start();
  const startMs = performance.now() - started;
  const { value } = await store.get(KEY);
  const ms = performance.now() - started;
  delay.disable();
  return { store, startMs, ms, stallMs: delay.max / 1e6, value };
}

/** Bytes in `dir` and below. */
function dirBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (sum, e) => sum + (e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size),
    0,
  );
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Restarting a node after `writes` writes over 1,000 keys (Raft §7): the time from start to its first
 * linearizable read, replaying the whole log against loading a snapshot and the few entries after it,
 * for the same state, and the longest the event loop stalled meanwhile.
 */
export async function restartBench(root: string, writes: number): Promise<void> {
  rmSync(root, { recursive: true, force: true });
  const dataDir = join(root, 'node');
  const nodeDir = join(dataDir, '1');
  await writeHistory(nodeDir, writes);
  // The last value written to KEY: the largest i <= writes with i % KEYS == 7.
  const expected = writes - ((((writes - 7) % KEYS) + KEYS) % KEYS);
  const check = (value: unknown): void => {
    if (value !== expected) throw new Error(`restart bench: read ${KEY} = ${String(value)} after the restart, expected ${expected}`);
  };

  const logBytes = dirBytes(nodeDir);
  const full = await restart(dataDir);
  check(full.value);
  // Resolves once the snapshot is durable and the log segments it covers are deleted.
  await full.store.graft.snapshot();
  await full.store.graft.stop();

  const snapshotBytes = dirBytes(nodeDir);
  const fromSnapshot = await restart(dataDir);
  check(fromSnapshot.value);
  await fromSnapshot.store.graft.stop();
  rmSync(root, { recursive: true, force: true });

  console.log(`\nRestart after ${fmt(writes)} writes over ${fmt(KEYS)} keys, one node, durable storage`);
  table(
    ['how', 'data directory', 'start() (ms)', 'first linearizable read (ms)', 'longest stall (ms)', 'vs full replay'],
    [
      ['replaying the full log', mib(logBytes), fmt(full.startMs), fmt(full.ms), fmt(full.stallMs), '1.00x'],
      ['from a snapshot', mib(snapshotBytes), fmt(fromSnapshot.startMs), fmt(fromSnapshot.ms), fmt(fromSnapshot.stallMs), ratio(fromSnapshot.ms, full.ms)],
    ],
  );
}
