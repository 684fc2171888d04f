import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClusterConfig } from '../../src/config.ts';
import { superjsonSerializer } from '../../src/serializer.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { startKvNode } from '../../src/cli/apps/kvstore/node.ts';
import type { KVOperation } from '../../src/cli/apps/kvstore/operations.ts';
import { freePort } from '../helpers/ports.ts';
import { recordingLogger } from '../helpers/recording-logger.ts';

describe('integration: a restart replays its log without blocking the process', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-replay-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('applies the log in chunks, logging its progress, and /health answers while it replays', async () => {
    const total = 60_000;
    const port = await freePort();
    const config = parseClusterConfig(`electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:${port}\n`);
    const storage = new FileStorage({ dir: join(dir, '1'), identity: { machineId: '1', members: ['1'] } });
    await storage.load();
    const serializer = superjsonSerializer<KVOperation>();
    await storage.append(
      Array.from({ length: total }, (_, i) => ({
        index: i + 1,
        term: 1,
        kind: 'normal' as const,
        data: serializer.toString({ kind: 'set', key: `k${i % 100}`, value: i }),
      })),
    );
    await storage.saveHardState({ term: 1, vote: '1', commit: total });
    await storage.close();

    const logger = recordingLogger();
    const lines = logger.infos;
    const node = await startKvNode({ config, id: '1', dataDir: dir, logger });
    try {
      // Health checks, one after another, until the replay is done: some must be answered before it is.
      const answeredDuringReplay: number[] = [];
      const deadline = Date.now() + 30_000;
      while (node.store.graft.status().appliedIndex < total && Date.now() < deadline) {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        const body = (await res.json()) as { status: string; appliedIndex: number };
        expect(res.status).to.equal(200);
        if (body.appliedIndex < total) answeredDuringReplay.push(body.appliedIndex);
      }
      expect(node.store.graft.status().appliedIndex).to.be.at.least(total);
      expect(answeredDuringReplay.length, '/health answers before the replay ended').to.be.greaterThan(0);
      expect(lines.some((l) => l.includes(`replaying the log: ${total} committed entries to apply`))).to.equal(true);
      expect(lines.some((l) => new RegExp(`replayed the log: ${total} entries in \\d+ ms`).test(l))).to.equal(true);
      expect(node.store.localSnapshot().get('k99')).to.equal(total - 1);
    } finally {
      await node.stop();
    }
  });
});
