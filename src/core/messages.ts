import type { Entry, NodeId, SnapshotMeta } from './types.ts';

/** Ask for a vote (§5.2). `lastLogIndex`/`lastLogTerm` let the voter apply the up-to-date check (§5.4.1). */
export interface RequestVote {
  readonly type: 'RequestVote';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Sent because the leader handed over leadership (thesis §3.10): voters answer even while their leader's lease runs. */
  readonly transfer: boolean;
}

/** The answer to RequestVote: `granted` says whether the voter voted for the candidate in `term`. */
export interface RequestVoteResponse {
  readonly type: 'RequestVoteResponse';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly granted: boolean;
}

/**
 * Replicate entries, or with none, assert leadership (a heartbeat) (§5.3).
 * Entries follow `prevLogIndex` contiguously.
 */
export interface AppendEntries {
  readonly type: 'AppendEntries';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly leaderCommit: number;
  /** The leader's latest round of read confirmations (thesis §6.4); 0 when none. Echoed in the answer. */
  readonly readRound: number;
}

/**
 * The answer to AppendEntries. On success `matchIndex` is the last index known to match the leader.
 * On rejection `rejectedIndex` echoes the `prevLogIndex` that failed, and `conflictIndex`/`conflictTerm`
 * let the leader skip a whole term at a time instead of one entry (§5.3, the optimisation at its end).
 */
export interface AppendEntriesResponse {
  readonly type: 'AppendEntriesResponse';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly success: boolean;
  readonly matchIndex: number;
  readonly rejectedIndex: number;
  readonly conflictIndex: number;
  readonly conflictTerm: number | null;
  /** The `readRound` of the append this answers: the follower still takes this node as its leader. */
  readonly readRound: number;
}

/** A follower asks its leader for a read index (thesis §6.4); `context` pairs the answer with the request. */
export interface ReadIndex {
  readonly type: 'ReadIndex';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly context: number;
}

/** The leader's answer: reads may be served once the asker has applied `index`; null: not served, ask again. */
export interface ReadIndexResponse {
  readonly type: 'ReadIndexResponse';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly context: number;
  readonly index: number | null;
}

/**
 * Would you vote for me? (thesis §9.6). Sent before a real election, with the term the sender would
 * campaign in; answering changes neither the voter's term nor its vote, so a node that was cut off
 * cannot disrupt a healthy cluster by coming back with a higher term.
 */
export interface PreVote {
  readonly type: 'PreVote';
  readonly from: NodeId;
  readonly to: NodeId;
  /** The term the sender would campaign in: its own plus one. */
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

/** The answer to a PreVote: when granted, `term` echoes the proposed term; when refused, it is the voter's own. */
export interface PreVoteResponse {
  readonly type: 'PreVoteResponse';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly granted: boolean;
}

/** A leader hands over leadership (thesis §3.10): the receiver starts an election at once. */
export interface TimeoutNow {
  readonly type: 'TimeoutNow';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/**
 * A leader sends its snapshot to a follower that needs entries it has compacted away (§7). The core
 * names the snapshot; the runtime carries its state. Answered with an AppendEntriesResponse.
 */
export interface InstallSnapshot {
  readonly type: 'InstallSnapshot';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** Which snapshot: its last index and term, and its voters. */
  readonly snapshot: SnapshotMeta;
  /** As in AppendEntries: echoed in the answer, so that it confirms reads too. */
  readonly readRound: number;
}

/** Every message the core sends or receives. */
export type Message =
  | RequestVote
  | RequestVoteResponse
  | PreVote
  | PreVoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | ReadIndex
  | ReadIndexResponse
  | TimeoutNow
  | InstallSnapshot;

/** The kind of a message: its `type` field. */
export type MessageType = Message['type'];
