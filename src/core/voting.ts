import type { PreVote, PreVoteResponse, RequestVote, RequestVoteResponse } from './messages.ts';
import type { RaftState } from './state.ts';

/**
 * A voter's side of elections, the same in every role: what it answers to RequestVote (§5.2, §5.4.1)
 * and to PreVote (thesis §9.6).
 */

/** §5.2 and §5.4.1: one vote per term, and only for a candidate whose log is at least as up to date. */
export function answerRequestVote(s: RaftState, m: RequestVote): void {
  const canVote = s.vote === null || s.vote === m.from;
  const granted = canVote && s.candidateUpToDate(m) && mayVoteWhileRejoining(s, m);
  if (granted) {
    s.vote = m.from;
    s.resetElectionTimer();
    // Granted while rejoining: this is a new cluster's first election, and there is nothing to protect.
    s.rejoin = null;
  }
  s.send<RequestVoteResponse>({ type: 'RequestVoteResponse', from: s.id, to: m.from, term: s.term, granted });
}

/**
 * Thesis §9.6: grant a pre-vote to a log at least as up to date, for a later term, unless a leader
 * was heard from within the election timeout. Neither the term nor the vote changes.
 */
export function answerPreVote(s: RaftState, m: PreVote): void {
  const granted = m.term > s.term && !s.inLease() && s.candidateUpToDate(m) && mayVoteWhileRejoining(s, m);
  s.send<PreVoteResponse>({ type: 'PreVoteResponse', from: s.id, to: m.from, term: granted ? m.term : s.term, granted });
}

/** A node that may have lost its data votes only in a new cluster's first elections (see RejoinGuard). */
function mayVoteWhileRejoining(s: RaftState, m: RequestVote | PreVote): boolean {
  return s.rejoin === null || s.rejoin.mayVote(m.lastLogIndex, s.id, s.membership.allVoters());
}
