import { applyChanges, isRefusal, leaveJoint, type ChangeRefusal, type ConfigChange } from './configuration-change.ts';
import { encodeConfiguration } from './configuration-format.ts';
import { Membership, type Configuration } from './membership.ts';
import type { AppendEntries, AppendEntriesResponse, InstallSnapshot } from './messages.ts';
import { Progress } from './progress.ts';
import { majorityIndex } from './quorum.ts';
import type { ConfirmedReads, ReadRequest, ReadRounds } from './read-rounds.ts';
import type { RaftState } from './state.ts';
import type { Command, Entry, LogPosition, NodeId } from './types.ts';

/**
 * A leader's duties and the state only a leader has: each follower's progress (§5.3), the rounds
 * that confirm reads (thesis §6.4), a leadership transfer under way (thesis §3.10), and the steps of
 * a membership change (thesis §4.3). It exists only while this node leads, so none of that can leak
 * into another role.
 */
export class Leader {
  private readonly progress = new Map<NodeId, Progress>();
  /**
   * Peers the configuration in force left out, with the index of the entry that did: they are still
   * sent the log until they hold that entry and have answered an append that says it is committed
   * (one sent in read round `told` or later), so a removed member learns it was removed (thesis §4.2.3).
   */
  private readonly departing = new Map<NodeId, { readonly index: number; told: number | null }>();
  /** Reads that arrived before this leader committed an entry of its term. */
  private readsAwaitingCommit: ReadRequest[] = [];
  /** The node leadership is being handed to, and for how many ticks it has been. */
  private transferee: NodeId | null = null;
  private transferElapsed = 0;
  private heartbeatElapsed = 0;
  /** The index of this leader's first entry: of its term. */
  private termStart = 0;
  /** Whether this leader, removed, has tried to hand over, and whether it told the target to campaign (see handingOver). */
  private handOverTried = false;
  private timeoutNowSent = false;

  constructor(
    private readonly s: RaftState,
    private readonly readRounds: ReadRounds,
  ) {
    readRounds.reset();
    this.trackMembers();
  }

  /**
   * Takes office: §5.4.2 / §8, a leader commits nothing of earlier terms by counting replicas, so it
   * appends an entry of its own term at once. While the log holds no configuration (a new cluster,
   * or one from before membership changes), that entry is the configuration in force: from then on
   * the log says who the members are, also to a machine added later that is sent the log from its start.
   */
  start(): void {
    const { s } = this;
    const holdsNone = s.configs.current().index === 0;
    const [first] = this.append([holdsNone ? { kind: 'config', data: encodeConfiguration(s.membership.configuration) } : { kind: 'noop', data: '' }]);
    this.termStart = first!.index;
    for (const peer of this.progress.keys()) this.sendAppend(peer, true);
  }

  /** One tick: heartbeats, the transfer's deadline, and the quorum check. Returns false when this node must step down (thesis §6.2). */
  tick(): boolean {
    const { s } = this;
    if (++this.heartbeatElapsed >= s.settings.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
    if (this.transferee !== null && ++this.transferElapsed >= s.settings.electionTicks) this.transferee = null;
    if (++s.electionElapsed >= s.settings.electionTicks) {
      s.electionElapsed = 0;
      if (s.settings.checkQuorum && !this.quorumActive()) return false;
    }
    return true;
  }

  propose(commands: readonly Command[]): LogPosition[] | null {
    // During a transfer the log must stop growing, or the target could never catch up (thesis §3.10).
    if (this.transferee !== null) return null;
    const positions = this.append(commands.map(entryContent));
    for (const peer of this.progress.keys()) this.sendAppend(peer, false);
    return positions;
  }

  /**
   * Appends the configuration `changes` lead to (thesis §4.3): joint when the voters change, after
   * which this leader appends the new configuration alone as soon as the joint one commits. One
   * change at a time: refused while the last configuration entry is not committed, or a transfer runs.
   */
  proposeChange(changes: readonly ConfigChange[]): LogPosition | ChangeRefusal {
    const { s } = this;
    const current = s.configs.current();
    if (current.index > s.log.committed || s.membership.isJoint) {
      return { reason: 'in-flight', message: `the configuration change at index ${current.index} is not finished yet` };
    }
    if (this.transferee !== null) return { reason: 'in-flight', message: `leadership is being handed to ${this.transferee}` };
    // Until then it does not know what is committed, nor which followers hold it (§5.4.2).
    if (s.log.term(s.log.committed) !== s.term) return { reason: 'in-flight', message: 'this leader has not committed an entry of its term yet' };
    let next = applyChanges(current.configuration, changes);
    if (isRefusal(next)) return next;
    const unready = changes.map((c) => (c.type === 'add-voter' ? this.unreadyVoter(c.id) : null)).find((reason) => reason !== null);
    // Lagging is passing: the caller may ask again once the member has caught up.
    if (unready !== undefined) return { reason: 'in-flight', message: unready };
    const dependsOnLagging = this.quorumLacksLog(next);
    if (dependsOnLagging !== null) return { reason: 'in-flight', message: dependsOnLagging };
    if (s.settings.sabotage === 'change-without-joint') next = leaveJoint(next);
    const [entry] = this.append([{ kind: 'config', data: encodeConfiguration(next) }]);
    for (const peer of this.progress.keys()) this.sendAppend(peer, false);
    return { index: entry!.index, term: entry!.term };
  }

  /**
   * Thesis §4.2.1: a voter is added only once it holds the log. Until then it would count towards
   * quorums it cannot serve, and an empty node that may have lost its data votes for no one
   * (RejoinGuard), so a cluster that needed its vote could elect no leader. A new machine is added
   * as a learner and promoted once it holds everything this leader has committed.
   */
  private unreadyVoter(id: NodeId): string | null {
    const { s } = this;
    if (!s.membership.isLearner(id))
      return s.membership.isVoter(id) ? null : `machine id ${id} is not a learner: add it as a learner first, and promote it once it has caught up`;
    const match = this.progress.get(id)?.match ?? 0;
    return match >= s.log.committed ? null : `learner ${id} has not caught up yet (it holds the log up to ${match} of ${s.log.committed} committed)`;
  }

  /**
   * Why `next` could leave the cluster without a leader, or null: it needs the votes of voters that
   * do not hold what is committed, and an empty one may vote for no one until a leader has caught it
   * up (RejoinGuard). A change must leave a quorum of voters that hold the log.
   */
  private quorumLacksLog(next: Configuration): string | null {
    const { s } = this;
    const holding = new Map<NodeId, boolean>([[s.id, true]]);
    // A voter that acknowledged an entry of this term holds what was committed before it, and has
    // left its rejoin hold (RejoinGuard); one that did not may be empty. (Its match may trail the commit
    // index under load, so that is not the test.)
    for (const [peer, pr] of this.progress) holding.set(peer, pr.match >= this.termStart);
    if (new Membership(next).voteResult(holding) === 'won') return null;
    const behind = [...next.voters, ...next.outgoing].filter((id) => holding.get(id) !== true);
    return `the new configuration would depend on voters that do not hold the log yet (${[...new Set(behind)].sort().join(', ')}): wait until they catch up`;
  }

  /**
   * Whether this leader's configuration, committed, leaves it out: it led the change to its end,
   * and now steps down (thesis §4.2.2).
   */
  removed(): boolean {
    return !this.s.membership.isVoter(this.s.id) && this.s.configs.current().index <= this.s.log.committed;
  }

  /**
   * Removed, before stepping down: hands leadership to the most up-to-date voter (thesis §3.10), so
   * the cluster need not wait an election timeout for a new leader. True while the hand-over runs;
   * false once it is over or could not start: time to step down.
   */
  handingOver(): boolean {
    // Once the target is told to campaign, there is nothing left for this leader to do.
    if (this.transferee !== null) return !this.timeoutNowSent;
    if (this.handOverTried) return false;
    this.handOverTried = true;
    return this.transfer(null) !== null;
  }

  /** Each member's match index, as this leader knows it (its own: its last durable index). */
  matchIndexes(): Map<NodeId, number> {
    const out = new Map<NodeId, number>([[this.s.id, this.s.log.stable]]);
    for (const [peer, pr] of this.progress) out.set(peer, pr.match);
    return out;
  }

  /** Starts handing leadership to `target`, or to the most up-to-date voter when null (thesis §3.10). */
  transfer(target: NodeId | null): NodeId | null {
    const chosen = target ?? this.mostUpToDateFollower();
    if (chosen === null || chosen === this.s.id || !this.progress.has(chosen) || !this.s.membership.isVoter(chosen)) return null;
    this.transferee = chosen;
    this.transferElapsed = 0;
    this.timeoutNowSent = false;
    this.readRounds.forfeitLease();
    this.maybeSendTimeoutNow();
    return chosen;
  }

  transferTarget(): NodeId | null {
    return this.transferee;
  }

  /** The log became durable up to where `advance` said: the leader's own entries count towards its quorum (§5.3 with thesis §10.2.1). */
  persisted(): void {
    this.maybeCommit();
  }

  /** A claim in an answer to this leader that no correct follower can make, or null. */
  implausibleAnswer(m: AppendEntriesResponse): string | null {
    const last = this.s.log.lastIndex();
    if (m.success && m.matchIndex > last) return `it claims to match up to index ${m.matchIndex}, beyond this leader's last index ${last}`;
    if (m.rejectedIndex > last) return `it rejects index ${m.rejectedIndex}, beyond this leader's last index ${last}`;
    return null;
  }

  receiveAppendAnswer(m: AppendEntriesResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    const departing = this.departing.get(m.from);
    if (departing !== undefined && m.success && m.matchIndex >= departing.index && this.s.log.committed >= departing.index) {
      if (departing.told !== null && m.readRound >= departing.told) {
        // It holds the configuration without it and knows that it is committed: it is sent nothing more.
        this.progress.delete(m.from);
        this.departing.delete(m.from);
        return;
      }
      if (departing.told === null) {
        // A round of its own, so that its answer shows it heard of the commit.
        departing.told = this.readRounds.next(this.s.ticks);
        this.sendEntries(m.from, pr.next - 1, []);
      }
    }
    pr.recentActive = true;
    // Any answer in this term says the follower still takes this node as leader: it confirms reads.
    this.answerConfirmed(this.readRounds.acknowledge(m.from, m.readRound, this.s.membership));
    if (pr.state === 'snapshot') {
      // Only the snapshot's acknowledgement (or an answer past it) resumes replication; the rest is old.
      if (!m.success || m.matchIndex < pr.pendingSnapshot) return;
      pr.maybeUpdate(m.matchIndex);
      pr.becomeReplicate();
      this.maybeCommit();
      this.sendAppend(m.from, false);
      return;
    }
    if (m.success) {
      const wasProbing = pr.state === 'probe';
      if (pr.maybeUpdate(m.matchIndex) || wasProbing) {
        if (wasProbing) pr.becomeReplicate();
        this.maybeCommit();
        if (m.from === this.transferee) this.maybeSendTimeoutNow();
      }
      this.sendAppend(m.from, false);
      return;
    }
    if (m.conflictTerm === null && m.conflictIndex <= pr.match) {
      // The follower says its log ends below what it acknowledged: it lost entries (its data directory
      // was lost, or a failed write cut its tail). Without this, every rejection at or below the old
      // match would look overtaken, and the follower would never catch up under this leader.
      this.s.warn(`follower ${m.from}'s log ends at index ${m.conflictIndex - 1}, below the ${pr.match} it acknowledged: it lost entries; sending them again`);
      pr.lostEntries(m.conflictIndex - 1);
      this.sendAppend(m.from, true);
      return;
    }
    // A rejection of an index already known to match, or of a probe other than the one out, is an
    // old answer overtaken by newer ones.
    if (m.rejectedIndex <= pr.match || (pr.state === 'probe' && m.rejectedIndex !== pr.next - 1)) return;
    pr.becomeProbe(Math.min(this.nextAfterConflict(m), m.rejectedIndex));
    this.sendAppend(m.from, true);
  }

  // ---- linearizable reads (thesis §6.4) -------------------------------------------------------

  /**
   * A leader may serve a read at its commit index once it has committed an entry of its own term
   * (so it knows the latest commit index) and a quorum has answered a heartbeat sent after the read
   * arrived (so no newer leader can have committed anything it does not know of).
   */
  read(request: ReadRequest): void {
    const { s } = this;
    if (s.log.term(s.log.committed) !== s.term) this.readsAwaitingCommit.push(request);
    else if (this.readRounds.leaseHeld(s.ticks)) s.answerRead(request, s.log.committed);
    else this.startReadRound([request]);
  }

  /** Leadership ends: the reads it was serving or holding cannot be confirmed; their askers are told to ask again. */
  abandonReads(): void {
    for (const r of [...this.readRounds.abandon(), ...this.readsAwaitingCommit]) this.s.answerRead(r, null);
    this.readsAwaitingCommit = [];
  }

  private startReadRound(requests: ReadRequest[]): void {
    this.answerConfirmed(this.readRounds.wait(this.s.ticks, this.s.log.committed, requests, this.s.membership));
    if (this.readRounds.pending) {
      for (const [peer, pr] of this.progress) this.sendEntries(peer, pr.next - 1, []);
    }
  }

  private answerConfirmed(confirmed: readonly ConfirmedReads[]): void {
    for (const { index, requests } of confirmed) for (const request of requests) this.s.answerRead(request, index);
  }

  // ---- commitment -----------------------------------------------------------------------------

  private append(items: readonly EntryContent[]): Entry[] {
    const { s } = this;
    let index = s.log.lastIndex();
    const entries = items.map((item): Entry => {
      // Field by field, in one shape, so that nothing else a command object holds reaches the log.
      const { kind, data, stamp } = item;
      return stamp === undefined ? { index: ++index, term: s.term, kind, data } : { index: ++index, term: s.term, kind, data, stamp };
    });
    s.log.append(entries);
    // A configuration is in force as soon as it is in the log (thesis §4.1).
    if (s.syncConfiguration(entries)) this.configurationChanged();
    // An entry is its own position (its index and term): what a proposal answers, inside this node.
    return entries;
  }

  /**
   * The configuration in force changed: new members get a progress (probing from the end of the
   * log, so a new member is found empty and sent the log or a snapshot), departed ones lose theirs,
   * and acknowledgements gathered under the old configuration no longer prove a lease.
   */
  private configurationChanged(): void {
    // A probe at once: a new member answers with where its log ends, and is sent the rest from there.
    for (const peer of this.trackMembers()) this.sendAppend(peer, true);
    this.readRounds.voidLease();
    if (this.transferee !== null && !this.s.membership.isVoter(this.transferee)) this.transferee = null;
  }

  /** Gives every member a progress and marks the peers that are no longer members; returns the new ones. */
  private trackMembers(): NodeId[] {
    const { s } = this;
    const added: NodeId[] = [];
    const members = new Set(s.membership.allMembers());
    this.departing.clear();
    for (const peer of this.progress.keys()) if (!members.has(peer)) this.departing.set(peer, { index: s.configs.current().index, told: null });
    for (const peer of members) {
      if (peer === s.id || this.progress.has(peer)) continue;
      this.progress.set(peer, new Progress(s.log.lastIndex() + 1, s.settings.maxInflight));
      added.push(peer);
    }
    return added;
  }

  /**
   * §5.3 and §5.4.2: commit the highest index a quorum holds, but only if that entry is of the current
   * term; entries of earlier terms are committed with it, never by counting their own replicas.
   */
  private maybeCommit(): boolean {
    const { s } = this;
    const matchOf = (id: NodeId): number => (id === s.id ? s.log.stable : (this.progress.get(id)?.match ?? 0));
    const index =
      s.settings.sabotage === 'joint-commit-by-incoming-only'
        ? majorityIndex(s.membership.configuration.voters, matchOf)
        : s.membership.committedIndex(matchOf);
    if (index <= s.log.committed || s.log.term(index) !== s.term) return false;
    s.log.commitTo(index);
    // The joint configuration is committed: now the new one alone (thesis §4.3).
    if (s.membership.isJoint && s.configs.current().index <= index) {
      this.append([{ kind: 'config', data: encodeConfiguration(leaveJoint(s.membership.configuration)) }]);
    }
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      this.startReadRound(waiting);
    }
    return true;
  }

  /** Whether a quorum was heard from since the last check (thesis §6.2). Clears the marks for the next window. */
  private quorumActive(): boolean {
    const active = new Map<NodeId, boolean>([[this.s.id, true]]);
    for (const [peer, pr] of this.progress) {
      active.set(peer, pr.recentActive);
      pr.recentActive = false;
    }
    return this.s.membership.voteResult(active) === 'won';
  }

  // ---- leadership transfer (thesis §3.10) ---------------------------------------------------

  /** Sends TimeoutNow once the transfer target's log matches ours; until then, sends it what it lacks. */
  private maybeSendTimeoutNow(): void {
    const target = this.transferee;
    const pr = target === null ? undefined : this.progress.get(target);
    if (target === null || pr === undefined) return;
    if (pr.match === this.s.log.lastIndex()) {
      this.s.send({ type: 'TimeoutNow', from: this.s.id, to: target, term: this.s.term });
      this.timeoutNowSent = true;
    } else {
      this.sendAppend(target, true);
    }
  }

  private mostUpToDateFollower(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const [peer, pr] of this.progress) {
      if (this.s.membership.isVoter(peer) && pr.match > bestMatch) {
        best = peer;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  // ---- sending --------------------------------------------------------------------------------

  /** Where to try next after a rejection: past the leader's last entry of the conflicting term, if any. */
  private nextAfterConflict(m: AppendEntriesResponse): number {
    if (m.conflictTerm === null) return m.conflictIndex;
    const last = this.s.log.lastIndexOfTerm(m.conflictTerm);
    return last > 0 ? last + 1 : m.conflictIndex;
  }

  /**
   * Whether a follower that is being streamed to has not been sent the commit index yet, and could
   * be (see flushCommitNotices). One whose appends are paused is not counted: its next answer
   * brings it an append, and the commit index with it.
   */
  owesCommitNotices(): boolean {
    const committed = this.s.log.committed;
    for (const pr of this.progress.values()) if (pr.state === 'replicate' && pr.commitSent < committed && !pr.isPaused()) return true;
    return false;
  }

  /**
   * Tells the followers that have not heard it the new commit index, so that their applies (and the
   * callers waiting on them) need not wait for a heartbeat. A leader does not send these the moment
   * it commits: its next append carries the commit index anyway (§5.3), and under load one follows
   * at once, so the driver calls this only when the leader is about to fall idle. That saves a frame
   * each way per follower and write when operations come one at a time.
   */
  flushCommitNotices(): void {
    const committed = this.s.log.committed;
    for (const [peer, pr] of this.progress) {
      if (pr.state === 'replicate' && pr.commitSent < committed) this.sendAppend(peer, true);
    }
  }

  private broadcastHeartbeat(): void {
    const { s } = this;
    // With leases, every heartbeat is a round whose acknowledgements renew the lease.
    if (s.settings.leaseTicks > 0) this.readRounds.next(s.ticks);
    for (const [peer, pr] of this.progress) {
      if (pr.state === 'probe') {
        pr.probeSent = false;
        this.sendAppend(peer, true);
      } else if (pr.state === 'snapshot') {
        if (++pr.snapshotHeartbeats * s.settings.heartbeatTicks >= s.settings.electionTicks) {
          // No acknowledgement within an election timeout: the snapshot was probably lost. Start over.
          pr.becomeProbe(pr.match + 1);
          this.sendAppend(peer, true);
        } else {
          // A heartbeat where the log starts, so the follower's election timer does not run out meanwhile.
          this.sendEntries(peer, s.log.start().index, []);
        }
      } else {
        // An empty append where the follower should be: it acknowledges, or rejects if appends were lost.
        this.sendEntries(peer, pr.next - 1, []);
      }
    }
  }

  /**
   * Sends the follower the entries it lacks from `next`, within the message caps, unless its
   * progress says to wait. With nothing to send, sends an empty append only if `allowEmpty`.
   */
  private sendAppend(peer: NodeId, allowEmpty: boolean): void {
    const pr = this.progress.get(peer);
    if (pr === undefined || pr.isPaused()) return;
    if (pr.next <= this.s.log.start().index) {
      this.sendSnapshot(peer, pr);
      return;
    }
    const entries = this.entriesFrom(pr.next);
    if (entries.length === 0 && !allowEmpty) return;
    this.sendEntries(peer, pr.next - 1, entries);
    const last = entries[entries.length - 1];
    pr.sentAppend(last?.index ?? pr.next - 1, last !== undefined);
  }

  /** The follower needs entries compacted away: it gets the snapshot, and nothing else until it answers (§7). */
  private sendSnapshot(peer: NodeId, pr: Progress): void {
    const { s } = this;
    const snapshot = s.snapshot;
    if (snapshot === null) throw new Error(`log invariant broken: the log starts after ${s.log.start().index} but there is no snapshot`);
    s.send<InstallSnapshot>({ type: 'InstallSnapshot', from: s.id, to: peer, term: s.term, snapshot, readRound: this.readRounds.current });
    pr.becomeSnapshot(snapshot.index);
  }

  private sendEntries(peer: NodeId, prevLogIndex: number, entries: readonly Entry[]): void {
    const { s } = this;
    const pr = this.progress.get(peer);
    const prevLogTerm = s.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      // Compacted past it (a read round or heartbeat for a follower this far behind): send the snapshot.
      if (pr !== undefined && pr.state !== 'snapshot') this.sendSnapshot(peer, pr);
      return;
    }
    if (pr !== undefined) pr.commitSent = s.log.committed;
    s.send<AppendEntries>({
      type: 'AppendEntries',
      from: s.id,
      to: peer,
      term: s.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: s.log.committed,
      readRound: this.readRounds.current,
    });
  }

  private entriesFrom(next: number): Entry[] {
    const { s } = this;
    const candidates = s.log.slice(next, next + s.settings.maxEntriesPerMessage - 1);
    let bytes = 0;
    let count = 0;
    for (const entry of candidates) {
      bytes += entry.data.length;
      // Always send at least one entry, however large, or the follower could never catch up.
      if (count > 0 && bytes > s.settings.maxBytesPerMessage) break;
      count++;
    }
    return candidates.slice(0, count);
  }
}

/** An entry but for its place in the log. */
type EntryContent = Omit<Entry, 'index' | 'term'>;

/** The entry a proposed command becomes. */
function entryContent(command: Command): EntryContent {
  return command.kind === 'session' ? SESSION_OPENING : command;
}

const SESSION_OPENING: EntryContent = { kind: 'session', data: '' };
