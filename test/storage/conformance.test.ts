import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/core/types.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { storageConformance, type StorageSubject } from '../../src/testing.ts';

// The suite itself is src/testing/storage-conformance.ts, shipped as `graft-raft/testing` so that
// users run it against their own storage; here it runs against Graft's two.
const subjects: Record<string, () => StorageSubject> = {
  MemoryStorage: () => ({
    create: () => new MemoryStorage(),
    restart: (previous) => previous, // the same memory stands for the same disk
  }),
  FileStorage: () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-conformance-'));
    const make = () => new FileStorage({ dir, identity: { machineId: '1', members: ['1', '2', '3'] }, segmentBytes: 512 });
    return { create: make, restart: make, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: `op${index}` });

for (const [name, makeSubject] of Object.entries(subjects)) {
  describe(`storage conformance: ${name}`, () => {
    for (const c of storageConformance(makeSubject)) it(c.name, c.run);

    // Not part of the contract (the runtime never appends past the end), but Graft's storages refuse it.
    it('refuses an append that would leave a gap', async () => {
      const subject = makeSubject();
      const storage = await subject.create();
      try {
        await storage.load();
        await storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
        const error = await storage.append([entry(5, 1)]).then(
          () => null,
          (e: Error) => e,
        );
        expect(error?.message).to.match(/append at index 5 leaves a gap after the last stored index 3/);
      } finally {
        await storage.close();
        await subject.cleanup?.();
      }
    });
  });
}
