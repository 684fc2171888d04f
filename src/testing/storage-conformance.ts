import { deepStrictEqual, ok, rejects } from 'node:assert/strict';
import type { Entry, HardState, SnapshotMeta } from '../core/types.ts';
import type { StoredSnapshot } from '../storage/snapshot-store.ts';
import type { PersistedState, Storage } from '../storage/storage.ts';

/**
 * A `Storage` implementation under test: how the conformance suite makes one on fresh media, and
 * what a restarted process would find on the same media.
 */
export interface StorageSubject {
  /** A storage on new, empty media; not loaded yet (the suite calls `load()`). */
  create(): Storage | Promise<Storage>;
  /**
   * A storage on the media `previous` wrote to, as a restarted process would open it; not loaded
   * yet. The suite has closed `previous` already. An in-memory storage may return `previous` itself.
   */
  restart(previous: Storage): Storage | Promise<Storage>;
  /** Removes the media (a temporary directory, say); called once, after the case. */
  cleanup?(): void | Promise<void>;
}

/** One case of the conformance suite: a name for your test runner, and the test itself (rejects on failure). */
export interface StorageConformanceCase {
  /** What the case checks, as a test name. */
  readonly name: string;
  /** Runs the case; rejects with what failed. */
  run(): Promise<void>;
}

/** The storage a case works on, and how to restart it. */
interface Session {
  readonly storage: Storage;
  /** Closes the storage, opens it again as a restarted process would, and loads it. */
  restart(): Promise<PersistedState>;
}

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: `op${index}` });
const snapshotMeta = (index: number, term: number): SnapshotMeta => ({
  index,
  term,
  configuration: { voters: ['1', '2', '3'], outgoing: [], learners: [], addresses: {} },
});
/** A state of `chunks` chunks of 1000 bytes, each byte derived from `seed`, so two states differ. */
async function* state(seed: number, chunks = 3): AsyncGenerator<Uint8Array> {
  for (let c = 0; c < chunks; c++) yield Uint8Array.from({ length: 1000 }, (_, i) => (seed * 31 + c * 7 + i) % 251);
}
async function bytesOf(data: AsyncIterable<Uint8Array>): Promise<number[]> {
  const all: number[] = [];
  for await (const chunk of data) all.push(...chunk);
  return all;
}
async function sameState(snapshot: StoredSnapshot | null, meta: SnapshotMeta, seed: number): Promise<void> {
  ok(snapshot !== null, `expected snapshot ${meta.index}, found none`);
  deepStrictEqual(snapshot.meta, meta);
  deepStrictEqual(await bytesOf(snapshot.read()), await bytesOf(state(seed)), `the state of snapshot ${meta.index} differs from what was saved`);
}
const range = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));

/** The cases, each a rule of the `Storage` contract that the runtime relies on. */
const cases: readonly { readonly name: string; readonly body: (session: Session) => Promise<void> }[] = [
  {
    name: 'starts empty',
    body: async (s) => {
      deepStrictEqual(await s.restart(), { hardState: { term: 0, vote: null, commit: 0 }, snapshot: null, entries: [] });
      deepStrictEqual(await s.storage.latestSnapshot(), null);
    },
  },
  {
    name: 'keeps entries and the hard state across a restart',
    body: async (s) => {
      await Promise.all([s.storage.append(range(1, 40, 1)), s.storage.saveHardState({ term: 2, vote: '3', commit: 17 })]);
      await s.storage.append(range(41, 50, 2));
      const state = await s.restart();
      deepStrictEqual(state.hardState, { term: 2, vote: '3', commit: 17 });
      deepStrictEqual(state.entries, [...range(1, 40, 1), ...range(41, 50, 2)]);
    },
  },
  {
    name: 'replaces a conflicting suffix (§5.3), and keeps the replacement across a restart',
    body: async (s) => {
      await s.storage.append(range(1, 10, 1));
      await s.storage.saveHardState({ term: 3, vote: '2', commit: 4 });
      await s.storage.append(range(6, 7, 3));
      const state = await s.restart();
      deepStrictEqual(state.entries, [...range(1, 5, 1), ...range(6, 7, 3)]);
      deepStrictEqual(state.hardState, { term: 3, vote: '2', commit: 4 });
    },
  },
  {
    name: 'keeps the rejoin mark of a hard state, with or without a vote, and its removal',
    body: async (s) => {
      const states: HardState[] = [
        { term: 4, vote: null, commit: 0, rejoining: true },
        { term: 5, vote: '1', commit: 0, rejoining: true },
        { term: 5, vote: '1', commit: 2 },
      ];
      for (const hardState of states) {
        await s.storage.saveHardState(hardState);
        deepStrictEqual((await s.restart()).hardState, hardState);
      }
    },
  },
  {
    name: 'after dropping a prefix, keeps every entry above it, across a restart',
    body: async (s) => {
      for (let i = 1; i <= 100; i += 10) await s.storage.append(range(i, i + 9, 1));
      await s.storage.compactPrefix(60);
      const { entries } = await s.restart();
      const first = entries[0]?.index;
      ok(first !== undefined && first <= 61, `the log must keep entry 61 on, but starts at ${first}`);
      deepStrictEqual(entries, range(first, 100, 1));
    },
  },
  {
    name: 'keeps a snapshot and the log after it across a restart; the newest snapshot wins',
    body: async (s) => {
      await s.storage.append(range(1, 100, 2));
      await s.storage.saveSnapshot(snapshotMeta(40, 2), state(40));
      await s.storage.saveSnapshot(snapshotMeta(60, 2), state(60));
      await sameState(await s.storage.latestSnapshot(), snapshotMeta(60, 2), 60);
      await s.storage.compactPrefix(60);
      const loaded = await s.restart();
      deepStrictEqual(loaded.snapshot, snapshotMeta(60, 2));
      deepStrictEqual(loaded.entries, range(61, 100, 2));
      await sameState(await s.storage.latestSnapshot(), snapshotMeta(60, 2), 60);
      // The state can be read more than once (a leader sends it to several followers).
      await sameState(await s.storage.latestSnapshot(), snapshotMeta(60, 2), 60);
    },
  },
  {
    name: 'after restartLogAfter, holds only the snapshot and what is appended after it (§7)',
    body: async (s) => {
      await s.storage.append(range(1, 10, 1));
      await s.storage.saveSnapshot(snapshotMeta(20, 3), state(20));
      await s.storage.restartLogAfter(snapshotMeta(20, 3));
      await s.storage.append(range(21, 25, 3));
      const loaded = await s.restart();
      deepStrictEqual(loaded.snapshot, snapshotMeta(20, 3));
      deepStrictEqual(loaded.entries, range(21, 25, 3));
      await s.storage.append(range(26, 27, 4));
      deepStrictEqual((await s.restart()).entries, [...range(21, 25, 3), ...range(26, 27, 4)]);
    },
  },
  {
    name: 'a snapshot saved over a log that disagrees with it (a crash before restartLogAfter) empties the log at load (Figure 13)',
    body: async (s) => {
      await s.storage.append(range(1, 30, 1));
      await s.storage.saveSnapshot(snapshotMeta(20, 2), state(20));
      const loaded = await s.restart();
      deepStrictEqual(loaded.snapshot, snapshotMeta(20, 2));
      deepStrictEqual(loaded.entries, []);
      // The log now continues after the snapshot.
      await s.storage.append(range(21, 22, 2));
      deepStrictEqual((await s.restart()).entries, range(21, 22, 2));
    },
  },
  {
    name: 'a snapshot beyond the end of the log empties it at load; one the log holds keeps what follows',
    body: async (s) => {
      await s.storage.append(range(1, 10, 1));
      await s.storage.saveSnapshot(snapshotMeta(8, 1), state(8));
      deepStrictEqual((await s.restart()).entries, range(9, 10, 1));
      await s.storage.saveSnapshot(snapshotMeta(50, 1), state(50));
      const loaded = await s.restart();
      deepStrictEqual([loaded.snapshot, loaded.entries], [snapshotMeta(50, 1), []]);
    },
  },
  {
    name: 'a save whose state fails part-way leaves the previous snapshot in place',
    body: async (s) => {
      await s.storage.append(range(1, 10, 1));
      await s.storage.saveSnapshot(snapshotMeta(5, 1), state(5));
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield* state(9, 1);
        throw new Error('the state machine failed while streaming');
      }
      await rejects(s.storage.saveSnapshot(snapshotMeta(9, 1), failing()));
      await sameState(await s.storage.latestSnapshot(), snapshotMeta(5, 1), 5);
      const loaded = await s.restart();
      deepStrictEqual([loaded.snapshot, loaded.entries], [snapshotMeta(5, 1), range(6, 10, 1)]);
    },
  },
];

/**
 * The storage conformance suite: the rules of the `Storage` contract that Graft's runtime relies on,
 * run against your implementation. Each case gets a subject of its own from `makeSubject`, and closes
 * and cleans it up however it ends. Framework-neutral: hand the cases to your runner, e.g. with mocha
 * `for (const c of storageConformance(make)) it(c.name, c.run);` or with `node:test`
 * `for (const c of storageConformance(make)) test(c.name, c.run);`.
 */
export function storageConformance(makeSubject: () => StorageSubject): StorageConformanceCase[] {
  return cases.map(({ name, body }) => ({
    name,
    run: async () => {
      const subject = makeSubject();
      let storage = await subject.create();
      try {
        await storage.load();
        const session: Session = {
          get storage() {
            return storage;
          },
          restart: async () => {
            await storage.close();
            storage = await subject.restart(storage);
            return storage.load();
          },
        };
        await body(session);
      } finally {
        await storage.close();
        await subject.cleanup?.();
      }
    },
  }));
}
