import type { NodeId } from './types.ts';

/**
 * What holds back a node that started with nothing on disk (§5.1 relies on the vote and the log
 * being durable; this is what a node does when they may not have been). The mark is kept in the hard
 * state until it is lifted, so a crash in between does not lift it.
 *
 * Such a node cannot tell a new cluster from one it belonged to before its data directory was lost.
 * In the second case it may have voted in terms it no longer remembers and acknowledged entries it
 * no longer holds; voting on that basis could elect two leaders in one term (§5.2) or a leader that
 * lacks a committed entry (§5.4.1). So:
 * - It votes, and stands for election, in a new cluster's first elections only: for a candidate with
 *   an empty log, and only once every other voter has shown it an empty log (each asks for pre-votes
 *   after its first election timeout) and none a non-empty one. If all members are empty, no entry
 *   survives anywhere, so no election can lose one; if one is not, the cluster exists, and it waits
 *   for a leader. Once it has voted or stood in such an election, the cluster is new: it is an
 *   ordinary member from then on.
 * - When it hears from a leader, it holds that leader as its vote for the leader's term: the leader
 *   won the term, so that is consistent with any vote it cast, and closes the term to others.
 * - It returns to the ordinary rules once its log matches the leader's up to an entry of the
 *   leader's term, and up to every index the leader announced as committed: the leader's log holds
 *   every entry committed before its term (§5.4), so its own does too, and it holds the entries the
 *   leader committed since, perhaps with this node's acknowledgements from before the loss.
 */
export class RejoinGuard {
  /** The term of the first leader heard from; null until then. */
  private leaderTerm: number | null = null;
  /** Voters that asked for a vote with an empty log. */
  private readonly emptyVoters = new Set<NodeId>();
  /** Whether any candidate showed a non-empty log: the cluster exists. */
  private sawLog = false;
  /** The highest commit index a leader announced. */
  private leaderCommit = 0;

  /** A candidate (or pre-candidate) showed its log. */
  noteCandidate(from: NodeId, lastLogIndex: number): void {
    if (lastLogIndex === 0) this.emptyVoters.add(from);
    else this.sawLog = true;
  }

  /** Whether it may vote for a candidate with `lastLogIndex` (the ordinary rules apply on top). */
  mayVote(lastLogIndex: number, self: NodeId, voters: readonly NodeId[]): boolean {
    return lastLogIndex === 0 && this.mayCampaign(self, voters);
  }

  /** Whether this is a new cluster's first election, in which it may stand and vote. */
  mayCampaign(self: NodeId, voters: readonly NodeId[]): boolean {
    return this.leaderTerm === null && !this.sawLog && voters.every((v) => v === self || this.emptyVoters.has(v));
  }

  /** Heard from the leader of `term`, which has committed up to `leaderCommit`. */
  heardLeader(term: number, leaderCommit: number): void {
    this.leaderTerm ??= term;
    this.leaderCommit = Math.max(this.leaderCommit, leaderCommit);
  }

  /**
   * Whether its log, matching the leader's up to `matched`, an entry of `matchedTerm`, now holds all
   * that was committed before the leader's term, and all the leader had committed when it heard from it
   * (entries this node may have acknowledged before its loss).
   */
  caughtUp(matched: number, matchedTerm: number): boolean {
    return this.leaderTerm !== null && matchedTerm >= this.leaderTerm && matched >= this.leaderCommit;
  }
}
