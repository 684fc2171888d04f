import type { Configuration } from './membership.ts';
import type { Entry, HardState, NodeId, Rng, SnapshotMeta } from './types.ts';

/** How a core is tuned. Times are in ticks: the runtime decides how long a tick is. */
export interface RaftOptions {
  readonly id: NodeId;
  /**
   * The configuration at bootstrap: in force until the log (or a snapshot) holds one, and only then,
   * so a node restarted on its data takes its members from its log (thesis §4.1).
   */
  readonly configuration: Configuration;
  /** Base election timeout; each wait is drawn from [electionTicks, 2 * electionTicks) (§5.2). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly rng: Rng;
  /** What storage held at start. */
  readonly hardState: HardState;
  readonly entries: readonly Entry[];
  /** The snapshot storage held at start, if any: `entries` follow it, and its configuration is the base of theirs. */
  readonly snapshot?: SnapshotMeta;
  /** Caps on one AppendEntries: entry count and total data length. */
  readonly maxEntriesPerMessage?: number;
  readonly maxBytesPerMessage?: number;
  /** Unacknowledged appends allowed per follower in replicate state. */
  readonly maxInflight?: number;
  /**
   * Committed entries handed out per ready batch, so that a long backlog (a restart replaying its
   * log) is applied in chunks between which the runtime can serve other work. Default 1024.
   */
  readonly maxApplyPerReady?: number;
  /** Ask for pre-votes before a real election (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /**
   * A leader that has not heard from a quorum for an election timeout steps down (thesis §6.2), and
   * a follower that heard from its leader within one ignores vote requests (thesis §4.2.3). Default true.
   */
  readonly checkQuorum?: boolean;
  /**
   * Serve reads from a leader lease instead of a heartbeat round per read (thesis §6.4.1): for this
   * many ticks after a quorum acknowledged a message, no other leader can exist, because those
   * voters ignore elections for an election timeout. Safe only if clocks tick at similar rates: the
   * runtime shortens the lease by the drift it assumes. 0 (the default) turns it off. Needs checkQuorum.
   */
  readonly leaseTicks?: number;
  /**
   * Test only: breaks one rule of the protocol on purpose, so that a test can show the simulator
   * finds the violation. Never set it outside tests.
   */
  readonly sabotage?: Sabotage;
}

/** Rules a test may break on purpose (see `RaftOptions.sabotage`). */
export type Sabotage =
  /** Grant votes and pre-votes without the §5.4.1 check that the candidate's log is up to date. */
  | 'vote-without-log-check'
  /** Serve reads at the commit index without a quorum confirming leadership first (against thesis §6.4). */
  | 'read-without-quorum'
  /** Keep a leader lease forever once a quorum acknowledged, however long ago (against thesis §6.4.1). */
  | 'lease-never-expires'
  /** Take no notice of a pause: the lease is measured in ticks alone, as if no time passed while none came. */
  | 'lease-ignores-pauses'
  /** Install a leader's snapshot even when it is older than what this node has committed (against §7). */
  | 'install-stale-snapshot'
  /** Commit during a joint configuration by a majority of the incoming voters alone (against thesis §4.3). */
  | 'joint-commit-by-incoming-only'
  /** Change the voters in one step, without the joint configuration in between (against thesis §4.3). */
  | 'change-without-joint';
