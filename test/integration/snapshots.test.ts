import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KVStore } from '../../src/cli/apps/kvstore/kv-store.ts';
import { parseClusterConfig, type ClusterConfig } from '../../src/config.ts';
import { createLogger, silentLogger } from '../../src/logger.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { waitUntil } from '../helpers/graft-cluster.ts';

/**
 * Bytes of a directory's files (not recursive: a node's directory is flat). The node deletes
 * compacted log segments as it goes: one listed and gone by the time it is measured takes no space.
 */
const dirBytes = (dir: string): number => readdirSync(dir).reduce((sum, name) => sum + (statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0), 0);

describe('snapshots in a running cluster (Raft §7)', () => {
  let root: string;
  let network: MemoryNetwork;
  let config: ClusterConfig;
  const stores = new Map<string, KVStore>();

  const start = async (id: string): Promise<KVStore> => {
    const store = new KVStore({
      config,
      machineId: id,
      logger: process.env.SNAPLOG ? createLogger({ bindings: { node: id }, level: 'info' }) : silentLogger,
      transport: network.transport(id),
      storage: new FileStorage({ dir: join(root, id), identity: { machineId: id, members: ['1', '2', '3'] }, segmentBytes: 64 * 1024, keepSnapshots: 2 }),
    });
    stores.set(id, store);
    await store.graft.start();
    return store;
  };
  const graft = () => [...stores.values()].map((s) => s.graft as never);
  const leader = async (): Promise<KVStore> => {
    await waitUntil(graft(), () => [...stores.values()].some((s) => s.graft.isRunning() && s.graft.status().role === 'Leader'), 'a leader');
    return [...stores.values()].find((s) => s.graft.status().role === 'Leader')!;
  };
  const write = async (store: KVStore, from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, to - i) }, (_, k) => store.set(`k${(i + k) % 100}`, { n: i + k, pad: 'x'.repeat(100) })));
    }
  };

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'graft-snap-'));
    network = new MemoryNetwork();
    config = parseClusterConfig(
      'electionTimeout: 150\nheartbeatInterval: 50\nsnapshot: { entries: 200 }\nconfiguration:\n  1: 127.0.0.1:1\n  2: 127.0.0.1:2\n  3: 127.0.0.1:3\n',
    );
    stores.clear();
    for (const id of ['1', '2', '3']) await start(id);
  });

  afterEach(async () => {
    await Promise.all([...stores.values()].map((s) => s.graft.stop()));
    rmSync(root, { recursive: true, force: true });
  });

  it('compacts the log: memory and disk stay bounded as writes go on, and a restart begins from the snapshot', async () => {
    const lead = await leader();
    await write(lead, 0, 1000);
    const sizes: number[] = [];
    for (const round of [1, 2, 3]) {
      await write(lead, round * 1000, round * 1000 + 1000);
      sizes.push(dirBytes(join(root, lead.graft.id)));
    }
    const status = lead.graft.status();
    expect(status.snapshotIndex, 'snapshots were taken').to.be.greaterThan(3000);
    expect(status.firstIndex, 'the log was compacted').to.be.greaterThan(2500);
    // 100 keys of ~130 bytes, two snapshots kept, a log tail of at most a few 64 KiB segments.
    for (const size of sizes) expect(size, `directory sizes ${sizes.join(', ')}`).to.be.below(600 * 1024);

    const id = lead.graft.id;
    const before = lead.localSnapshot();
    await lead.graft.stop();
    const restarted = await start(id);
    await waitUntil(graft(), () => restarted.graft.status().appliedIndex >= status.appliedIndex, 'the restarted node to apply what it had');
    expect(restarted.graft.status().firstIndex, 'the log starts after the snapshot').to.be.greaterThan(2500);
    expect(Object.fromEntries(restarted.localSnapshot())).to.deep.equal(Object.fromEntries(before));
  });

  it('a follower cut off while the leader compacts is brought up to date by InstallSnapshot, then by the log', async () => {
    const lead = await leader();
    const behind = [...stores.values()].find((s) => s !== lead)!;
    network.isolate(behind.graft.id);
    await write(lead, 0, 1500);
    expect(lead.graft.status().firstIndex, 'the leader compacted past the follower').to.be.greaterThan(behind.graft.status().appliedIndex + 1);
    // Anything it applies from here on came with a snapshot: whoever its 'applied' events wake must see that snapshot in status().
    const compactedBelow = lead.graft.status().firstIndex;
    const appliedWithoutSnapshot: number[] = [];
    behind.graft.on('applied', (index) => {
      if (index >= compactedBelow && behind.graft.status().snapshotIndex === 0) appliedWithoutSnapshot.push(index);
    });
    network.heal();
    await waitUntil(graft(), () => behind.graft.status().snapshotIndex > 0, 'the follower to install a snapshot');
    expect(appliedWithoutSnapshot, 'indexes applied while status() showed no snapshot yet').to.deep.equal([]);
    await write(lead, 1500, 1600);
    const target = lead.graft.status().appliedIndex;
    await waitUntil(graft(), () => behind.graft.status().appliedIndex >= target, 'the follower to catch up');
    expect(Object.fromEntries(behind.localSnapshot())).to.deep.equal(Object.fromEntries(lead.localSnapshot()));
  });

  it('a follower whose data directory was deleted rejoins from a snapshot and ends with the leader state', async () => {
    const lead = await leader();
    await write(lead, 0, 1000);
    const lost = [...stores.values()].find((s) => s !== lead)!;
    const id = lost.graft.id;
    await lost.graft.stop();
    rmSync(join(root, id), { recursive: true, force: true });
    const fresh = await start(id);
    await write(lead, 1000, 1100);
    const target = lead.graft.status().appliedIndex;
    await waitUntil(graft(), () => fresh.graft.status().appliedIndex >= target, 'the emptied follower to catch up').catch((e) => {
      console.log(target, fresh.graft.status(), lead.graft.status());
      throw e;
    });
    expect(fresh.graft.status().snapshotIndex, 'it came back through a snapshot').to.be.greaterThan(0);
    expect(Object.fromEntries(fresh.localSnapshot())).to.deep.equal(Object.fromEntries(lead.localSnapshot()));
  });

  it('graft.snapshot() takes one on demand at the applied index', async () => {
    const lead = await leader();
    await write(lead, 0, 50);
    const taken = await lead.graft.snapshot();
    expect(taken.index).to.equal(lead.graft.status().appliedIndex);
    expect(lead.graft.status().snapshotIndex).to.equal(taken.index);
  });
});
