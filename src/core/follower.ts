import type { AppendEntries, AppendEntriesResponse, InstallSnapshot } from './messages.ts';
import type { RaftState } from './state.ts';
import type { NodeId } from './types.ts';

/**
 * A follower's side of replication: the AppendEntries receiver rules (§5.3) and installing a
 * leader's snapshot (§7). RaftCore has made this node a follower of the sender's term before either
 * is called.
 */

/** §5.3, the AppendEntries receiver rules. */
export function receiveAppend(s: RaftState, m: AppendEntries): void {
  s.electionElapsed = 0;
  // The lease is renewed: pre-votes it refused stay refused (answerPreVotesAfterLease).
  s.preVotesInLease.clear();
  if (s.rejoin !== null) heardLeaderWhileRejoining(s, m.from, m.leaderCommit);
  const reply = (fields: Pick<AppendEntriesResponse, 'success' | 'matchIndex' | 'conflictIndex' | 'conflictTerm'>): void =>
    s.send<AppendEntriesResponse>({
      type: 'AppendEntriesResponse',
      from: s.id,
      to: m.from,
      term: s.term,
      rejectedIndex: m.prevLogIndex,
      readRound: m.readRound,
      ...fields,
    });

  const log = s.log;
  if (m.prevLogIndex < log.committed) {
    // Everything up to our commit index is known to match any leader's log (§5.4.3); skip that part.
    const fresh = m.entries.filter((e) => e.index > log.committed);
    const match = log.merge(log.committed, fresh);
    s.syncConfiguration(fresh);
    log.commitTo(Math.min(m.leaderCommit, match));
    maybeEndRejoin(s, match);
    reply({ success: true, matchIndex: match, conflictIndex: 0, conflictTerm: null });
    return;
  }
  const heldTerm = log.term(m.prevLogIndex);
  if (heldTerm === undefined) {
    reply({ success: false, matchIndex: 0, conflictIndex: log.lastIndex() + 1, conflictTerm: null });
    return;
  }
  if (heldTerm !== m.prevLogTerm) {
    // Name the conflicting term and where it starts, so the leader can skip all of it at once.
    const conflictIndex = log.firstIndexOfTermAt(m.prevLogIndex, log.committed + 1);
    reply({ success: false, matchIndex: 0, conflictIndex, conflictTerm: heldTerm });
    return;
  }
  const match = log.merge(m.prevLogIndex, m.entries);
  s.syncConfiguration(m.entries);
  // Rule 5: commit no further than the last entry this message vouches for.
  log.commitTo(Math.min(m.leaderCommit, match));
  maybeEndRejoin(s, match);
  reply({ success: true, matchIndex: match, conflictIndex: 0, conflictTerm: null });
}

/**
 * §7: a snapshot replaces whatever of the log it covers, unless this node has already committed
 * past it (an old or repeated snapshot) or holds its last entry (then it only learns what is committed).
 */
export function receiveSnapshot(s: RaftState, m: InstallSnapshot): void {
  s.electionElapsed = 0;
  s.preVotesInLease.clear();
  // A snapshot holds only committed state: its index is one the leader has committed.
  if (s.rejoin !== null) heardLeaderWhileRejoining(s, m.from, m.snapshot.index);
  const { index, term } = m.snapshot;
  const reply = (matchIndex: number): void =>
    s.send<AppendEntriesResponse>({
      type: 'AppendEntriesResponse',
      from: s.id,
      to: m.from,
      term: s.term,
      success: true,
      matchIndex,
      rejectedIndex: 0,
      conflictIndex: 0,
      conflictTerm: null,
      readRound: m.readRound,
    });
  const log = s.log;
  if (index <= log.committed && s.settings.sabotage !== 'install-stale-snapshot') {
    reply(log.committed);
    return;
  }
  if (index <= log.lastIndex() && log.term(index) === term && index > log.committed) {
    log.commitTo(index);
  } else {
    log.restore({ index, term });
    s.restoreConfiguration(m.snapshot);
    s.snapshot = m.snapshot;
    s.snapshotToInstall = m.snapshot;
  }
  maybeEndRejoin(s, index);
  reply(index);
}

/**
 * While rejoining, on every append from the leader of this term: the leader won the term, so its
 * vote in this term, whatever it was before the data was lost, can be taken as the leader's.
 */
function heardLeaderWhileRejoining(s: RaftState, leader: NodeId, leaderCommit: number): void {
  s.rejoin!.heardLeader(s.term, leaderCommit);
  if (s.vote === null) s.vote = leader;
}

/** Back to the ordinary rules once this node's log matches the leader's far enough (RejoinGuard.caughtUp). */
function maybeEndRejoin(s: RaftState, matched: number): void {
  if (s.rejoin?.caughtUp(matched, s.log.term(matched) ?? 0) === true) s.rejoin = null;
}
