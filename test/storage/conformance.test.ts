import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/core/types.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import type { Storage } from '../../src/storage/storage.ts';

const entry = (index: number, term: number, data = `op${index}`): Entry => ({ index, term, kind: 'normal', data });
const range = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));

/** A storage under test: `open` gives the instance, `reopen` what a restarted process would find. */
interface Subject {
  open(): Promise<Storage>;
  reopen(previous: Storage): Promise<Storage>;
  cleanup(): void;
}

const subjects: Record<string, () => Subject> = {
  MemoryStorage: () => ({
    open: async () => {
      const s = new MemoryStorage();
      await s.load();
      return s;
    },
    reopen: async (previous) => {
      await previous.close();
      return previous; // the same memory stands for the same disk
    },
    cleanup: () => {},
  }),
  FileStorage: () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-conformance-'));
    const make = () => new FileStorage({ dir, identity: { machineId: '1', members: ['1', '2', '3'] }, segmentBytes: 512 });
    return {
      open: async () => {
        const s = make();
        await s.load();
        return s;
      },
      reopen: async (previous) => {
        await previous.close();
        return make();
      },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

for (const [name, makeSubject] of Object.entries(subjects)) {
  describe(`storage conformance: ${name}`, () => {
    let subject: Subject;
    let storage: Storage;

    beforeEach(async () => {
      subject = makeSubject();
      storage = await subject.open();
    });

    afterEach(async () => {
      await storage.close();
      subject.cleanup();
    });

    it('starts empty', async () => {
      storage = await subject.reopen(storage);
      expect(await storage.load()).to.deep.equal({ hardState: { term: 0, vote: null, commit: 0 }, entries: [] });
    });

    it('keeps entries and the hard state across a restart', async () => {
      await Promise.all([storage.append(range(1, 40, 1)), storage.saveHardState({ term: 2, vote: '3', commit: 17 })]);
      await storage.append(range(41, 50, 2));
      storage = await subject.reopen(storage);
      const state = await storage.load();
      expect(state.hardState).to.deep.equal({ term: 2, vote: '3', commit: 17 });
      expect(state.entries).to.deep.equal([...range(1, 40, 1), ...range(41, 50, 2)]);
    });

    it('replaces a conflicting suffix (§5.3), and keeps the replacement across a restart', async () => {
      await storage.append(range(1, 10, 1));
      await storage.saveHardState({ term: 3, vote: '2', commit: 4 });
      await storage.append(range(6, 7, 3));
      storage = await subject.reopen(storage);
      const state = await storage.load();
      expect(state.entries).to.deep.equal([...range(1, 5, 1), ...range(6, 7, 3)]);
      expect(state.hardState).to.deep.equal({ term: 3, vote: '2', commit: 4 });
    });

    it('keeps the rejoin mark of a hard state, with or without a vote, and its removal', async () => {
      for (const hardState of [{ term: 4, vote: null, commit: 0, rejoining: true as const }, { term: 5, vote: '1', commit: 0, rejoining: true as const }, { term: 5, vote: '1', commit: 2 }]) {
        await storage.saveHardState(hardState);
        storage = await subject.reopen(storage);
        expect((await storage.load()).hardState).to.deep.equal(hardState);
      }
    });

    it('refuses an append that would leave a gap', async () => {
      await storage.append(range(1, 3, 1));
      const error = await storage.append([entry(5, 1)]).then(() => null, (e: Error) => e);
      expect(error?.message).to.match(/append at index 5 leaves a gap after the last stored index 3/);
    });

    it('after dropping a prefix, keeps every entry above it, across a restart', async () => {
      for (let i = 1; i <= 100; i += 10) await storage.append(range(i, i + 9, 1));
      await storage.compactPrefix(60);
      storage = await subject.reopen(storage);
      const { entries } = await storage.load();
      expect(entries[entries.length - 1]?.index).to.equal(100);
      const first = entries[0]!.index;
      expect(first).to.be.at.most(61);
      expect(entries).to.deep.equal(range(first, 100, 1));
    });
  });
}
