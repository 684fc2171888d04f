import type { Entry, HardState } from '../core/types.ts';

/** What a node finds on its storage when it starts. */
export interface PersistedState {
  /** The term, vote and commit index last saved. */
  readonly hardState: HardState;
  /** Every entry since the start of the log, in index order, contiguous. */
  readonly entries: readonly Entry[];
}

/**
 * Where a node keeps what must survive a crash: its hard state and its log.
 *
 * The core keeps an in-memory view of the log, so storage is written to, and read back only at start.
 * Every write resolves only once it is durable: the runtime sends no message and acknowledges no
 * caller that depends on a write before that write's promise resolves (§5.1, Figure 2: "updated on
 * stable storage before responding to RPCs").
 */
export interface Storage {
  /** Reads the persisted state; called once, before anything else. */
  load(): Promise<PersistedState>;
  /**
   * Appends entries. `entries[0].index` may be at or below the last stored index: everything stored
   * from there on is replaced (a conflicting suffix, §5.3). It is never above last index + 1.
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
  /** Releases files and handles. Idempotent. */
  close(): Promise<void>;
}
