import type { Configuration } from './membership.ts';

/** A machine's identity in the cluster, as written in cluster.yaml (`1:` and `"1":` are the same id). */
export type NodeId = string;

/**
 * What an entry carries: a user operation, the no-op a new leader appends (§5.4.2), a membership
 * change, or the opening of a client session (Raft thesis §6.3; the entry's index is the session's id).
 */
export type EntryKind = 'normal' | 'noop' | 'config' | 'session';

/**
 * Where an operation stands in its client session (Raft thesis §6.3): every node's session table reads
 * it to apply the operation once however many copies of it reach the log.
 */
export interface SessionStamp {
  /** The session's id: the index of the entry that opened it. */
  readonly session: number;
  /** The operation's number in the session, from 1. */
  readonly seq: number;
  /** The lowest number the client still waits for: everything below it is settled. */
  readonly lowestOutstanding: number;
}

/**
 * One slot of the replicated log.
 * `data` and `stamp` are opaque to the core: the serialized operation and its place in a client
 * session for `normal` entries; `data` is empty for the other kinds.
 */
export interface Entry {
  /** Its position in the log, from 1. */
  readonly index: number;
  /** The term of the leader that created it (§5.3). */
  readonly term: number;
  /** What it carries. */
  readonly kind: EntryKind;
  /** The serialized operation (empty for a no-op and a session opening). */
  readonly data: string;
  /** The operation's place in its client session: only on a `normal` entry sent under one. */
  readonly stamp?: SessionStamp;
}

/**
 * What can be proposed for the log: an operation, stamped when sent under a client session, or the
 * opening of a session. The core builds an entry from it and treats its fields as opaque.
 */
export type Command = { readonly kind: 'normal'; readonly data: string; readonly stamp?: SessionStamp } | { readonly kind: 'session' };

/**
 * The state that must be durable before any message that depends on it is sent (§5.1, Figure 2):
 * the current term and the vote cast in it. `commit` is kept too so a restart applies without waiting.
 */
export interface HardState {
  /** The latest term this node has seen (§5.1). */
  readonly term: number;
  /** Whom it voted for in that term, or null (§5.2). */
  readonly vote: NodeId | null;
  /** The highest index it knew to be committed. */
  readonly commit: number;
  /** Present (true) while the node, started with nothing on disk, waits for a leader to catch it up (see RejoinGuard). */
  readonly rejoining?: true;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

/**
 * What a snapshot covers (§7): the state machine after applying every entry up to `index`, whose term
 * is `term`, and the configuration in force then. The state itself is the runtime's business, not the core's.
 */
export interface SnapshotMeta {
  /** The last index it covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The configuration in force at `index`: the members once the entries before it are gone. */
  readonly configuration: Configuration;
}

/** A node's role. `PreCandidate` is reserved for pre-vote (thesis §9.6). */
export type Role = 'Follower' | 'PreCandidate' | 'Candidate' | 'Leader';

/** What a node believes about leadership; volatile, reported to the runtime when it changes. */
export interface SoftState {
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId | null;
}

/** A source of randomness injected into the core, so a seed replays a run exactly. */
export interface Rng {
  /** A uniformly drawn integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number;
}

/** Where a proposal landed in the log. It is applied only if it is still there when committed. */
export interface LogPosition {
  /** The log index of the entry. */
  readonly index: number;
  /** The term the entry was appended in. */
  readonly term: number;
}
