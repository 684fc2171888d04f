import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseClusterConfig } from '../src/config.ts';
import { silentLogger } from '../src/logger.ts';
import { MemoryNetwork } from '../src/transport/memory.ts';
import { KVStore } from '../examples/kvstore/kv-store.ts';
import { fmt, rate, ratio, table } from './measure.ts';

/**
 * Linearizable reads two ways on a 3-node cluster with durable storage, in one run: through the log
 * (each read is a replicated, fsynced entry) and with ReadIndex (one heartbeat round, shared by all
 * reads of a loop turn; thesis §6.4). 64 concurrent readers, on the leader and on a follower.
 */
export async function readBench(root: string, seconds: number): Promise<void> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const config = parseClusterConfig('electionTimeout: 300\nconfiguration:\n  1: a:1\n  2: b:1\n  3: c:1\n');
  const network = new MemoryNetwork({ useCodec: false });
  const stores = ['1', '2', '3'].map((id) => new KVStore({ config, machineId: id, logger: silentLogger, dataDir: root, transport: network.transport(id) }));
  await Promise.all(stores.map((s) => s.graft.start()));
  await stores[0]!.set('key', 'value'); // waits for a leader, and gives the reads something to see
  const leader = stores.find((s) => s.graft.status().role === 'Leader')!;
  const follower = stores.find((s) => s !== leader)!;

  const rows: string[][] = [];
  for (const [where, store] of [['leader', leader], ['follower', follower]] as const) {
    const throughLog = await rate(seconds, () => store.getThroughLog('key'), 64);
    const readIndex = await rate(seconds, () => store.get('key'), 64);
    rows.push([`through the log, on the ${where}`, fmt(throughLog), '1.00x']);
    rows.push([`ReadIndex, on the ${where}`, fmt(readIndex), ratio(readIndex, throughLog)]);
  }
  await Promise.all(stores.map((s) => s.graft.stop()));
  rmSync(root, { recursive: true, force: true });

  console.log(`\nLinearizable reads, 3 nodes in one process, durable storage, 64 concurrent readers, ${seconds}s each`);
  table(['how', 'reads per second', 'vs through the log'], rows);
}
