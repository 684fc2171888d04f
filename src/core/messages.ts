import type { Entry, NodeId } from './types.ts';

/** Ask for a vote (§5.2). `lastLogIndex`/`lastLogTerm` let the voter apply the up-to-date check (§5.4.1). */
export interface RequestVote {
  readonly type: 'RequestVote';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
}

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
}

/** Every message the core sends or receives. Room is left for PreVote, TimeoutNow, ReadIndex, InstallSnapshot. */
export type Message = RequestVote | RequestVoteResponse | AppendEntries | AppendEntriesResponse;

export type MessageType = Message['type'];
