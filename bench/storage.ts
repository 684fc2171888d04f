import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FileStorage, GraftInstance, jsonSerializer, parseClusterConfig, silentLogger, type Entry } from 'graft-raft';
import { MemoryNetwork } from 'graft-raft/testing';
import { appendDurably, DURABLE_APPEND } from './cluster/disk.ts';
import { fmt, rate, ratio, table } from './measure.ts';

const PAYLOAD = 'x'.repeat(100);

/**
 * Durable appends against the disk's own rate of durable writes, measured in one run: how close
 * group commit comes to doing one sync's work per batch instead of per append.
 */
export async function storageBench(root: string, seconds: number): Promise<void> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });

  // 1. The disk: small durable writes, back to back, opened as the log opens its segments.
  const raw = await open(join(root, 'raw'), DURABLE_APPEND ?? 'a');
  const block = Buffer.alloc(128, 1);
  const syncRate = await rate(seconds, () => appendDurably(raw, block));
  await raw.close();

  // 2. FileStorage appends, one at a time and from 64 concurrent appenders.
  const storage = new FileStorage({ dir: join(root, 'wal'), identity: { machineId: '1', members: ['1'] } });
  await storage.load();
  let next = 1;
  const appendOne = () => storage.append([{ index: next++, term: 1, kind: 'normal', data: PAYLOAD } satisfies Entry]);
  const single = await rate(seconds, appendOne);
  const before = storage.stats();
  const grouped = await rate(seconds, appendOne, 64);
  const after = storage.stats();
  await storage.close();
  const perSync = (after.records - before.records) / (after.syncs - before.syncs);

  // 3. The whole write path of a single-node cluster: propose, persist, commit, apply, answer.
  const config = parseClusterConfig('electionTimeout: 100\nconfiguration:\n  1: 127.0.0.1:1\n');
  const network = new MemoryNetwork({ useCodec: false });
  const graft = new GraftInstance<string>({
    config,
    machineId: '1',
    applicator: () => undefined,
    serializer: jsonSerializer<string>(),
    logger: silentLogger,
    dataDir: join(root, 'graft'),
    transport: network.transport('1'),
  });
  await graft.start();
  await new Promise<void>((resolve) => graft.once('role', () => resolve()));
  while (graft.status().role !== 'Leader') await new Promise<void>((resolve) => graft.once('role', () => resolve()));
  const opSingle = await rate(seconds, () => graft.applyOperation(PAYLOAD));
  const opGrouped = await rate(seconds, () => graft.applyOperation(PAYLOAD), 64);
  await graft.stop();
  rmSync(root, { recursive: true, force: true });

  console.log(`\nDurable writes (synced before each acknowledgement), ${seconds}s each, in ${root}`);
  table(
    ['what', 'per second', 'vs raw sync'],
    [
      [`raw durable writes of this disk (128 B, ${DURABLE_APPEND === null ? 'write + fdatasync' : 'O_DSYNC'}, as the log writes)`, fmt(syncRate), '1.00x'],
      ['FileStorage.append, one at a time', fmt(single), ratio(single, syncRate)],
      [`FileStorage.append, 64 concurrent (${perSync.toFixed(1)} appends per sync)`, fmt(grouped), ratio(grouped, syncRate)],
      ['applyOperation, single node, 1 proposer', fmt(opSingle), ratio(opSingle, syncRate)],
      ['applyOperation, single node, 64 concurrent proposers', fmt(opGrouped), ratio(opGrouped, syncRate)],
    ],
  );
}
