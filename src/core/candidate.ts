import type { PreVote, RequestVote } from './messages.ts';
import type { VoteResult } from './quorum.ts';
import type { RaftState } from './state.ts';
import type { NodeId } from './types.ts';

/**
 * One round of asking for votes: a real election (§5.2), or a pre-vote that asks whether one could
 * be won before anyone's term is disturbed (thesis §9.6). Exists only while this node is a
 * candidate or pre-candidate. The candidate votes for itself.
 */
export class Election {
  private readonly votes: Map<NodeId, boolean>;

  constructor(
    private readonly s: RaftState,
    readonly kind: 'pre' | 'real',
  ) {
    this.votes = new Map([[s.id, true]]);
  }

  /** The term a grant must name: a pre-vote is asked for the term the candidate would campaign in. */
  get term(): number {
    return this.kind === 'pre' ? this.s.term + 1 : this.s.term;
  }

  /** Records an answer and says whether the election is decided. */
  record(from: NodeId, granted: boolean): VoteResult {
    this.votes.set(from, granted);
    return this.result();
  }

  result(): VoteResult {
    return this.s.membership.voteResult(this.votes);
  }

  /** Asks every other voter, with this node's last log entry for their up-to-date check (§5.4.1). */
  ask(transfer: boolean): void {
    const s = this.s;
    for (const peer of s.membership.allVoters()) {
      if (peer === s.id) continue;
      const request = { from: s.id, to: peer, term: this.term, lastLogIndex: s.log.lastIndex(), lastLogTerm: s.log.lastTerm() };
      if (this.kind === 'pre') s.send<PreVote>({ type: 'PreVote', ...request });
      else s.send<RequestVote>({ type: 'RequestVote', ...request, transfer });
    }
  }
}
