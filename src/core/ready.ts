import type { Message } from './messages.ts';
import type { Configuration } from './membership.ts';
import type { Entry, HardState, SnapshotMeta, SoftState } from './types.ts';

/**
 * Everything the core wants done, as one batch. The runtime must, in this order:
 * 1. persist `hardState` (when present) and `entries` (replacing any stored suffix from
 *    `entries[0].index`), and wait until both are durable;
 * 2. send `messages` (they may depend on what step 1 made durable: a vote, an acknowledged entry);
 * 3. apply `committedEntries` in order;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  /** Present when role, term or leader changed since the last batch. */
  readonly softState: SoftState | null;
  /**
   * Present when the configuration in force changed since the last batch (a configuration entry was
   * appended, or cut away, or a snapshot installed). Messages in this batch may go to its new members.
   */
  readonly configuration: Configuration | null;
  /** Present when term, vote or commit changed since the last batch. */
  readonly hardState: HardState | null;
  /**
   * A snapshot from the leader to install before anything else in the batch (§7): its state replaces
   * the state machine's, and the log restarts after it, empty. Persist it with the hard state.
   */
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  /** Reads asked for with `readIndex` that are now decided. */
  readonly readStates: readonly ReadState[];
  /**
   * What the core noticed and the operator should hear of (a follower that lost entries, a peer's
   * implausible claim that was ignored). The core does no I/O, so the runtime logs them.
   */
  readonly warnings: readonly string[];
}

/**
 * The outcome of a `readIndex` request (thesis §6.4): a read that starts now sees every write
 * acknowledged before the request once this node has applied `index`. Null: this node could not
 * confirm a leader in time (leadership changed); ask again.
 */
export interface ReadState {
  readonly context: number;
  readonly index: number | null;
}
