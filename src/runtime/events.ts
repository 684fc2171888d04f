import type { NodeId, Role } from '../core/types.ts';
import type { MemberInfo } from './membership-changes.ts';

/** The events a GraftInstance emits, and what each carries. */
export interface GraftEvents {
  /** This node's role changed. */
  role: [role: Role, term: number];
  /** The leader this node knows of changed (null: none known, e.g. during an election). */
  leader: [leader: NodeId | null, term: number];
  /**
   * The configuration in force changed: a membership change was appended (it takes effect at once,
   * thesis §4.1), committed its second step, or was cut away. `index` is its entry's.
   */
  membership: [members: readonly MemberInfo[], index: number];
  /** The configuration without this machine committed: it was removed from the cluster, and serves no one now. */
  removed: [index: number];
  /** Entries up to `index` were applied to the state machine. */
  applied: [index: number];
  /** Something went wrong that no caller's promise reports (a throwing applicator, a failed disk). */
  error: [error: Error];
  /**
   * The instance stopped: `error` is null after `stop()`, or the reason it stopped on its own (its
   * storage failed). A process that embeds Graft should exit non-zero on an error, so that its
   * supervisor restarts it.
   */
  stopped: [error: Error | null];
}
