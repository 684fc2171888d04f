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

  /**
   * Whether to refuse a rival's pre-vote request for the very term this round asks for, because the
   * two requests crossed (the rival has not answered ours; a connection delivers in order, so its
   * answer would have come first) and this node would be the better leader: its log more up to date
   * (§5.4.1), or as up to date and its id smaller. Two survivors of a leader that time out within a
   * message's delay of each other would otherwise grant each other, both stand in the same term, split
   * the vote and wait another election timeout (§5.2); this way the worse grants the better, which
   * wins at once. Only a crossing request is refused, so a pre-candidate that cannot win (cut off from
   * a majority) does not keep a rival from winning: the rival's next request, which finds this round
   * answered, is granted. Pre-votes decide no term and no vote, so safety is not at stake (thesis §9.6).
   */
  holdsAgainst(m: PreVote): boolean {
    if (this.kind !== 'pre' || m.term !== this.term || this.votes.has(m.from)) return false;
    const log = this.s.log;
    if (m.lastLogTerm !== log.lastTerm()) return m.lastLogTerm < log.lastTerm();
    if (m.lastLogIndex !== log.lastIndex()) return m.lastLogIndex < log.lastIndex();
    return this.s.id < m.from;
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
