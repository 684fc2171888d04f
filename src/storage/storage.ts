import type { Entry, HardState, SnapshotMeta } from '../core/types.ts';
import type { StoredSnapshot } from './snapshot-store.ts';

/** What a node finds on its storage when it starts. */
export interface PersistedState {
  /** The term, vote and commit index last saved. */
  readonly hardState: HardState;
  /** The newest snapshot saved, or null: the state machine starts from it. */
  readonly snapshot: SnapshotMeta | null;
  /** The entries after the snapshot (after index 0 without one), in index order, contiguous. */
  readonly entries: readonly Entry[];
}

/**
 * Where a node keeps what must survive a crash: its hard state, its log and its snapshots.
 *
 * The core keeps an in-memory view of the log after its snapshot, so storage is written to, and read
 * back only at start. Every write resolves only once it is durable: the runtime sends no message and
 * acknowledges no caller that depends on a write before that write's promise resolves (§5.1,
 * Figure 2: "updated on stable storage before responding to RPCs").
 */
export interface Storage {
  /**
   * Reads the persisted state; called once, before anything else. With a snapshot, the entries are
   * those after it when the log holds its last entry with the same term or begins right after it,
   * and none when the log disagrees with it or ends before it (§7, Figure 13); `logAfterSnapshot`
   * applies that rule.
   */
  load(): Promise<PersistedState>;
  /**
   * Appends entries. `entries[0].index` may be at or below the last stored index: everything stored
   * from there on is replaced (a conflicting suffix, §5.3). It is never above last index + 1, where
   * after `restartLogAfter(snapshot)` the last index is the snapshot's.
   */
  append(entries: readonly Entry[]): Promise<void>;
  /**
   * May forget entries at or below `throughIndex` (a snapshot covers them); entries above it stay.
   * What is forgotten, and when, is up to the storage.
   */
  compactPrefix(throughIndex: number): Promise<void>;
  /**
   * Replaces the hard state atomically: after a crash either the old or the new one is read.
   * With `durable: false` (a change of the commit index only, which Raft can relearn from the
   * leader) the write may ride along with the next durable one, and the promise need not wait for it.
   */
  saveHardState(hardState: HardState, options?: { readonly durable?: boolean }): Promise<void>;
  /**
   * Saves a snapshot of the state machine at `meta.index`, streamed from `data`; resolves with it
   * once it is durable. From then on `latestSnapshot` returns it, and `load` after a restart returns
   * it or one with a higher index. The log is not changed. Rejects, saving nothing, if `data` throws
   * or a write fails.
   */
  saveSnapshot(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<StoredSnapshot>;
  /** The snapshot saved last (after a restart, the one `load` returned), to read its state from; null when there is none. */
  latestSnapshot(): Promise<StoredSnapshot | null>;
  /**
   * Empties the log, durably: a snapshot from the leader (saved already) replaced it, and the next
   * entry appended is `snapshot.index + 1` (§7: "discard the entire log").
   */
  restartLogAfter(snapshot: SnapshotMeta): Promise<void>;
  /** Releases files and handles. Idempotent. */
  close(): Promise<void>;
}
