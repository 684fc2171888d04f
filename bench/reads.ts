import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseClusterConfig, silentLogger, type ReadMode } from 'graft-raft';
import { MemoryNetwork } from 'graft-raft/testing';
// The kvstore app that `graft start` hosts: not part of the public API, so imported from its source.
import { KVStore } from '../src/cli/apps/kvstore/kv-store.ts';
import { fmt, rate, ratio, table } from './measure.ts';

/** A 3-node cluster in this process with durable storage under `dir`; resolves once it has a leader. */
async function cluster(dir: string, readMode: ReadMode): Promise<{ leader: KVStore; follower: KVStore; stop: () => Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const config = parseClusterConfig(`electionTimeout: 300\nreadMode: ${readMode}\nconfiguration:\n  1: a:1\n  2: b:1\n  3: c:1\n`);
  const network = new MemoryNetwork({ useCodec: false });
  const stores = ['1', '2', '3'].map((id) => new KVStore({ config, machineId: id, logger: silentLogger, dataDir: dir, transport: network.transport(id) }));
  await Promise.all(stores.map((s) => s.graft.start()));
  await stores[0]!.set('key', 'value'); // waits for a leader, and gives the reads something to see
  const leader = stores.find((s) => s.graft.status().role === 'Leader')!;
  return { leader, follower: stores.find((s) => s !== leader)!, stop: async () => void (await Promise.all(stores.map((s) => s.graft.stop()))) };
}

/**
 * Reads on a 3-node cluster with durable storage, in one run, 64 concurrent readers, on the leader
 * and on a follower: linearizable through the log (each read a replicated, fsynced entry), with
 * ReadIndex (one heartbeat round shared by the reads of a loop turn; thesis §6.4), with the leader
 * lease (thesis §6.4.1, a second cluster), and stale (the node's own copy).
 */
export async function readBench(root: string, seconds: number): Promise<void> {
  rmSync(root, { recursive: true, force: true });
  const readIndexCluster = await cluster(join(root, 'read-index'), 'read-index');
  const leaseCluster = await cluster(join(root, 'lease'), 'lease');
  const rows: string[][] = [];
  for (const where of ['leader', 'follower'] as const) {
    const store = readIndexCluster[where];
    const throughLog = await rate(seconds, () => store.getThroughLog('key'), 64);
    const readIndex = await rate(seconds, () => store.get('key'), 64);
    const lease = await rate(seconds, () => leaseCluster[where].get('key'), 64);
    const stale = await rate(seconds, () => store.get('key', { stale: true }), 64);
    rows.push([`through the log, on the ${where}`, fmt(throughLog), '1.00x']);
    rows.push([`ReadIndex, on the ${where}`, fmt(readIndex), ratio(readIndex, throughLog)]);
    rows.push([`lease, on the ${where}`, fmt(lease), ratio(lease, throughLog)]);
    rows.push([`stale (not linearizable), on the ${where}`, fmt(stale), ratio(stale, throughLog)]);
  }
  await readIndexCluster.stop();
  await leaseCluster.stop();
  rmSync(root, { recursive: true, force: true });

  console.log(`\nReads, 3 nodes in one process, durable storage, 64 concurrent readers, ${seconds}s each`);
  table(['how', 'reads per second', 'vs through the log'], rows);
}
