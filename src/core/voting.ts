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
 * was heard from within the election timeout (thesis §4.2.3; the request is then kept, to be answered
 * again when that lease runs out). Neither the term nor the vote changes.
 */
export function answerPreVote(s: RaftState, m: PreVote, rivalCrossed = false): void {
  // A rival pre-candidate whose request crossed this node's own, and is the worse of the two (Election.holdsAgainst).
  const eligible = !rivalCrossed && eligibleForPreVote(s, m);
  const granted = eligible && !s.inLease();
  if (eligible && !granted && s.role !== 'Leader' && s.membership.allVoters().includes(m.from)) s.preVotesInLease.set(m.from, m);
  s.send<PreVoteResponse>({ type: 'PreVoteResponse', from: s.id, to: m.from, term: granted ? m.term : s.term, granted });
}

/**
 * Called on every tick of a follower or candidate. A pre-vote refused only for the lease (thesis
 * §4.2.3) is answered again once the lease has run out with no leader heard from, as if the request
 * had only now arrived (thesis §9.6; a network may delay and duplicate requests, so this answer is
 * one that could be given anyway). Without it, a survivor of a dead leader that timed out a tick
 * before the others' leases ran out would wait for a whole new election timeout, or for another
 * node's own, to try again; with it, it wins as soon as they may vote. A node cut off from a live
 * leader gains nothing: the others hear from the leader, which drops what they kept.
 */
export function answerPreVotesAfterLease(s: RaftState): void {
  if (s.preVotesInLease.size === 0 || s.inLease()) return;
  const waiting = [...s.preVotesInLease.values()];
  s.preVotesInLease.clear();
  for (const m of waiting) {
    // Only a grant is news: a refusal was sent already.
    if (eligibleForPreVote(s, m)) {
      s.send<PreVoteResponse>({ type: 'PreVoteResponse', from: s.id, to: m.from, term: m.term, granted: true });
    }
  }
}

/** Whether a pre-vote would be granted but for a lease: for a later term, from a log at least as up to date. */
function eligibleForPreVote(s: RaftState, m: PreVote): boolean {
  return m.term > s.term && s.candidateUpToDate(m) && mayVoteWhileRejoining(s, m);
}

/** A node that may have lost its data votes only in a new cluster's first elections (see RejoinGuard). */
function mayVoteWhileRejoining(s: RaftState, m: RequestVote | PreVote): boolean {
  return s.rejoin === null || s.rejoin.mayVote(m.lastLogIndex, s.id, s.membership.allVoters());
}
