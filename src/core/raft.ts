import { Election } from './candidate.ts';
import { receiveAppend, receiveSnapshot } from './follower.ts';
import { Leader } from './leader.ts';
import { RaftLog } from './log.ts';
import { ConfigurationLog } from './configuration-log.ts';
import type { ChangeRefusal, ConfigChange } from './configuration-change.ts';
import type { Configuration } from './membership.ts';
import type { AppendEntriesResponse, Message, RequestVoteResponse } from './messages.ts';
import { ReadRounds } from './read-rounds.ts';
import type { Ready } from './ready.ts';
import { RejoinGuard } from './rejoin.ts';
import type { RaftOptions } from './settings.ts';
import { RaftState } from './state.ts';
import type { Command, HardState, LogPosition, NodeId, SnapshotMeta, SoftState } from './types.ts';
import { answerPreVote, answerPreVotesAfterLease, answerRequestVote } from './voting.ts';

export type { RaftOptions, Sabotage } from './settings.ts';
export type { LogPosition } from './types.ts';

/**
 * The Raft state machine of the paper (Ongaro & Ousterhout, 2014): leader election (§5.2), log
 * replication (§5.3) and the safety rules (§5.4). Pure and synchronous: no clock, no randomness but
 * the injected `Rng`, no I/O. Input comes through `tick`, `step` and `propose`; output leaves through
 * `ready` and is acknowledged with `advance`.
 *
 * This class applies the rules every role shares (the term rule of §5.1, votes) and moves between
 * roles; what a role does is in its own module: follower.ts, candidate.ts, leader.ts. State that
 * only one role has lives in that role's object, which exists only while the role lasts.
 */
export class RaftCore {
  readonly id: NodeId;
  private readonly s: RaftState;
  /** While leading: the leader's state and duties. */
  private leading: Leader | null = null;
  /** While a candidate or pre-candidate: the votes so far. */
  private election: Election | null = null;
  /** Kept across leaderships so that round numbers only grow. */
  private readonly readRounds: ReadRounds;
  private lastHardState: HardState;
  private lastSoftState: SoftState;
  private lastConfiguration: Configuration;

  constructor(options: RaftOptions) {
    const leaseTicks = options.leaseTicks ?? 0;
    const checkQuorum = options.checkQuorum ?? true;
    if (leaseTicks > 0 && !checkQuorum) throw new Error('lease reads need checkQuorum: without it voters do not hold off elections while a leader is alive');
    if (leaseTicks >= options.electionTicks) throw new Error(`leaseTicks (${leaseTicks}) must be shorter than electionTicks (${options.electionTicks})`);
    if (options.heartbeatTicks < 1 || options.electionTicks <= options.heartbeatTicks) {
      throw new Error(`need 1 <= heartbeatTicks < electionTicks, got ${options.heartbeatTicks} and ${options.electionTicks}`);
    }
    const sabotage = options.sabotage ?? null;
    const settings = {
      electionTicks: options.electionTicks,
      heartbeatTicks: options.heartbeatTicks,
      rng: options.rng,
      maxEntriesPerMessage: options.maxEntriesPerMessage ?? 512,
      maxBytesPerMessage: options.maxBytesPerMessage ?? 1024 * 1024,
      maxInflight: options.maxInflight ?? 64,
      maxApplyPerReady: options.maxApplyPerReady ?? 1024,
      preVote: options.preVote ?? true,
      checkQuorum,
      leaseTicks,
      sabotage,
    };
    this.id = options.id;
    const log = new RaftLog(options.entries, options.hardState.commit, options.snapshot ?? { index: 0, term: 0 });
    // Nothing on disk: this may be a member that lost its data. The mark is kept in the hard state
    // until a leader has caught it up, so a crash before then does not lift it (see RejoinGuard).
    const blank = options.hardState.term === 0 && options.hardState.vote === null && options.entries.length === 0 && options.snapshot === undefined;
    const configs = new ConfigurationLog(options.snapshot?.configuration ?? options.configuration, options.snapshot?.index ?? 0);
    configs.sync(log, options.entries);
    this.s = new RaftState(options.id, settings, log, {
      term: options.hardState.term,
      vote: options.hardState.vote,
      configs,
      snapshot: options.snapshot ?? null,
      rejoin: blank || options.hardState.rejoining === true ? new RejoinGuard() : null,
    });
    this.readRounds = new ReadRounds(this.id, leaseTicks, {
      withoutQuorum: sabotage === 'read-without-quorum',
      leaseNeverExpires: sabotage === 'lease-never-expires',
    });
    // What storage holds, so that the first batch writes anything that differs (the rejoin mark).
    this.lastHardState = options.hardState;
    this.lastSoftState = this.softState();
    this.lastConfiguration = this.s.membership.configuration;
    this.s.resetElectionTimer();
  }

  // ---- what the world may ask -------------------------------------------------------------

  softState(): SoftState {
    return { role: this.s.role, term: this.s.term, leader: this.s.leader };
  }

  hardState(): HardState {
    const hs = { term: this.s.term, vote: this.s.vote, commit: this.s.log.committed };
    return this.s.rejoin === null ? hs : { ...hs, rejoining: true };
  }

  commitIndex(): number {
    return this.s.log.committed;
  }

  appliedIndex(): number {
    return this.s.log.applied;
  }

  lastIndex(): number {
    return this.s.log.lastIndex();
  }

  /** The term of the entry at `index`, or undefined when the log does not hold it. */
  termAt(index: number): number | undefined {
    return this.s.log.term(index);
  }

  voters(): NodeId[] {
    return this.s.membership.allVoters();
  }

  /** The configuration in force: the latest in the log, committed or not (thesis §4.1). */
  configuration(): Configuration {
    return this.s.membership.configuration;
  }

  /** The configuration in force at `index`: the one a snapshot up to `index` records. */
  configurationAt(index: number): Configuration {
    return this.s.configs.at(index);
  }

  /** The latest committed configuration and the index of its entry (0: the bootstrap's, which the log does not hold yet). */
  committedConfiguration(): { readonly configuration: Configuration; readonly index: number } {
    const { configuration, index } = this.s.configs.recordAt(this.commitIndex());
    return { configuration, index };
  }

  /** The index of the entry that holds the configuration in force (0: the bootstrap's; a snapshot's index: the snapshot's). */
  configurationIndex(): number {
    return this.s.configs.current().index;
  }

  /** While leading, each member's match index as this leader knows it; null otherwise. */
  matchIndexes(): Map<NodeId, number> | null {
    return this.leading?.matchIndexes() ?? null;
  }

  /** Whether this node holds back from elections because it may have lost its data (see RejoinGuard). */
  isRejoining(): boolean {
    return this.s.rejoin !== null;
  }

  /** The newest snapshot this node took or installed, or null. */
  latestSnapshot(): SnapshotMeta | null {
    return this.s.snapshot;
  }

  /** The first index the log holds (entries before it are in the snapshot). */
  firstIndex(): number {
    return this.s.log.firstIndex();
  }

  /** The node leadership is being handed to, if a transfer is under way. */
  transferTarget(): NodeId | null {
    return this.leading?.transferTarget() ?? null;
  }

  /**
   * While leading: whether followers have yet to be told the latest commit index. A driver that is
   * about to fall idle calls `flushCommitNotices` then; it need not while proposals keep coming,
   * since each append carries the commit index (see Leader.flushCommitNotices).
   */
  owesCommitNotices(): boolean {
    return this.leading?.owesCommitNotices() ?? false;
  }

  /** While leading: sends the commit index to the followers that have not been sent it. */
  flushCommitNotices(): void {
    this.leading?.flushCommitNotices();
  }

  // ---- inputs -----------------------------------------------------------------------------

  /** One unit of logical time. Followers and candidates count towards an election; leaders towards a heartbeat. */
  tick(): void {
    const s = this.s;
    s.ticks++;
    if (this.leading !== null) {
      if (!this.leading.tick()) this.becomeFollower(s.term, null);
      else this.stepDownIfRemoved();
      return;
    }
    s.electionElapsed++;
    // Before this node's own timeout, so that the candidate it now grants hears so first.
    answerPreVotesAfterLease(s);
    if (s.electionElapsed >= s.randomizedElectionTimeout && s.mayCampaign()) {
      // A node that may have lost its data asks first (its pre-vote shows the others its empty log),
      // unless it knows already that this is a new cluster's first election.
      if (s.settings.preVote || s.rejoin?.mayCampaign(this.id, s.membership.allVoters()) === false) this.becomePreCandidate();
      else this.campaign();
    }
  }

  /**
   * Time passed without ticks: for `ticks` ticks the process was paused (a long garbage collection, a
   * suspended VM or container) or its event loop blocked. Counts them as ticks (at most two election
   * timeouts' worth: past that, nothing more changes), and voids the leader lease: the voters that
   * granted it may have elected another leader meanwhile, so only a round sent after the pause can
   * renew it (thesis §6.4.1).
   */
  paused(ticks: number): void {
    if (this.s.settings.sabotage === 'lease-ignores-pauses') return;
    this.readRounds.voidLease();
    for (let i = 0; i < Math.min(ticks, 2 * this.s.settings.electionTicks); i++) this.tick();
  }

  /**
   * Appends operations to the log if this node leads. Returns where each landed, or null when this
   * node is not the leader (the caller forwards or redirects).
   */
  propose(commands: readonly Command[]): LogPosition[] | null {
    return this.leading?.propose(commands) ?? null;
  }

  /**
   * Asks for a membership change (thesis chapter 4): appends the configuration it leads to, joint when
   * the voters change. Returns where its entry landed (the change is done once the configuration
   * after it commits: watch `configurationIndex()`), a refusal saying why it cannot be made, or null
   * when this node does not lead.
   */
  proposeConfigChange(changes: readonly ConfigChange[]): LogPosition | ChangeRefusal | null {
    return this.leading?.proposeChange(changes) ?? null;
  }

  /**
   * Hands leadership to `target` (thesis §3.10), or to the most up-to-date voter when null: stops
   * taking proposals, brings the target's log up to date, then tells it to start an election at once.
   * Gives up after an election timeout. Returns the target, or null when this node does not lead or
   * there is no one to hand over to.
   */
  transferLeadership(target: NodeId | null): NodeId | null {
    return this.leading?.transfer(target) ?? null;
  }

  /**
   * Asks for a read index (thesis §6.4). The answer arrives as a ReadState in a later ready batch.
   * Returns false when no leader is known, so there is nobody to ask.
   */
  readIndex(context: number): boolean {
    const s = this.s;
    if (this.leading !== null) {
      this.leading.read({ from: this.id, context });
      return true;
    }
    if (s.leader === null) return false;
    s.readsAtLeader.add(context);
    s.send({ type: 'ReadIndex', from: this.id, to: s.leader, term: s.term, context });
    return true;
  }

  /**
   * Handles one message from a peer. Messages for another node, or from nowhere we know, are dropped;
   * so is a message that claims what no correct peer can (it is reported in the next batch's warnings).
   */
  step(message: Message): void {
    const s = this.s;
    if (message.to !== this.id || message.from === this.id) return;
    const implausible = this.implausibleClaim(message);
    if (implausible !== null) {
      s.warn(`ignored a ${message.type} from ${message.from}: ${implausible}`);
      return;
    }
    if (s.rejoin !== null && (message.type === 'PreVote' || message.type === 'RequestVote')) {
      s.rejoin.noteCandidate(message.from, message.lastLogIndex);
    }
    // Pre-votes change no term, in either direction (thesis §9.6).
    if (message.type === 'PreVote') {
      answerPreVote(s, message, this.election?.holdsAgainst(message) === true);
      return;
    }
    if (message.type === 'PreVoteResponse') {
      this.receivePreVoteAnswer(message);
      return;
    }
    if (message.type === 'RequestVote' && !message.transfer && message.term > s.term && s.inLease()) {
      // Thesis §4.2.3: while a leader is known to be alive, a vote request is disruption, not news.
      return;
    }
    if (message.term > s.term) {
      // §5.1: a higher term makes any node a follower of that term. Only an append names the leader.
      this.becomeFollower(message.term, message.type === 'AppendEntries' || message.type === 'InstallSnapshot' ? message.from : null);
    } else if (message.term < s.term) {
      this.answerStale(message);
      return;
    }
    switch (message.type) {
      case 'RequestVote':
        answerRequestVote(s, message);
        return;
      case 'RequestVoteResponse':
        this.receiveVote(message);
        return;
      case 'AppendEntries':
        // §5.2: a candidate that hears from a leader of its term gives way.
        if (s.role !== 'Follower' || s.leader !== message.from) this.becomeFollower(s.term, message.from);
        receiveAppend(s, message);
        return;
      case 'InstallSnapshot':
        if (s.role !== 'Follower' || s.leader !== message.from) this.becomeFollower(s.term, message.from);
        receiveSnapshot(s, message);
        return;
      case 'AppendEntriesResponse':
        this.leading?.receiveAppendAnswer(message);
        this.stepDownIfRemoved();
        return;
      case 'TimeoutNow':
        // Only the leader of this term may hand over; the election starts now, without a pre-vote.
        if (s.role === 'Follower' && message.from === s.leader && s.mayCampaign() && s.rejoin === null) this.campaign(true);
        return;
      case 'ReadIndex':
        if (this.leading !== null) this.leading.read({ from: message.from, context: message.context });
        else s.answerRead({ from: message.from, context: message.context }, null);
        return;
      case 'ReadIndexResponse':
        if (s.readsAtLeader.delete(message.context)) s.readStates.push({ context: message.context, index: message.index });
        return;
    }
  }

  /**
   * The state machine holds a snapshot of everything up to `index` (at most the applied index): the
   * log forgets the entries it covers (§7), except the last `keep` of them, so that a follower a
   * little behind still catches up from the log rather than by a whole snapshot. Returns the
   * snapshot's metadata, or null when a snapshot at or past `index` is held already.
   */
  compact(index: number, keep = 0): SnapshotMeta | null {
    const s = this.s;
    if (index <= (s.snapshot?.index ?? 0) || index <= s.log.start().index) return null;
    const term = s.log.term(index);
    if (term === undefined) throw new Error(`cannot compact to ${index}: the log holds ${s.log.firstIndex()} to ${s.log.lastIndex()}`);
    if (index > s.log.applied) throw new Error(`cannot compact to ${index}: past the applied index ${s.log.applied}`);
    s.snapshot = { index, term, configuration: s.configs.at(index) };
    s.configs.compacted(index);
    s.log.compactTo(Math.max(s.log.start().index, index - keep));
    return s.snapshot;
  }

  // ---- output -----------------------------------------------------------------------------

  hasReady(): boolean {
    const s = this.s;
    return (
      s.outbox.length > 0 ||
      s.readStates.length > 0 ||
      s.warnings.length > 0 ||
      s.snapshotToInstall !== null ||
      s.log.hasUnstable() ||
      s.log.hasNextToApply() ||
      s.membership.configuration !== this.lastConfiguration ||
      !sameHardState(this.hardState(), this.lastHardState) ||
      !sameSoftState(this.softState(), this.lastSoftState)
    );
  }

  /** Collects what must be persisted, sent and applied. Call `advance` once it is all done. */
  ready(): Ready {
    const s = this.s;
    const hardState = this.hardState();
    const softState = this.softState();
    const configuration = s.membership.configuration;
    const ready: Ready = {
      softState: sameSoftState(softState, this.lastSoftState) ? null : softState,
      configuration: configuration === this.lastConfiguration ? null : configuration,
      hardState: sameHardState(hardState, this.lastHardState) ? null : hardState,
      snapshot: s.snapshotToInstall,
      entries: s.log.unstableEntries(),
      messages: s.outbox,
      committedEntries: s.log.nextToApply(s.settings.maxApplyPerReady),
      readStates: s.readStates,
      warnings: s.warnings,
    };
    s.outbox = [];
    s.readStates = [];
    s.warnings = [];
    s.snapshotToInstall = null;
    this.lastHardState = hardState;
    this.lastSoftState = softState;
    this.lastConfiguration = configuration;
    return ready;
  }

  /** Records that a batch from `ready` was persisted, sent and applied. */
  advance(ready: Ready): void {
    const log = this.s.log;
    if (ready.snapshot !== null) log.snapshotApplied(ready.snapshot.index);
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) log.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) log.appliedTo(lastApplied.index);
    this.leading?.persisted();
    this.stepDownIfRemoved();
  }

  // ---- transitions ------------------------------------------------------------------------

  private becomeFollower(term: number, leader: NodeId | null): void {
    const s = this.s;
    this.abandonReads(leader);
    if (term !== s.term) {
      s.term = term;
      s.vote = null;
    }
    s.role = 'Follower';
    s.leader = leader;
    this.leading = null;
    this.election = null;
    s.resetElectionTimer();
  }

  /** Thesis §9.6: ask whether a real election could be won before disturbing anyone's term. */
  private becomePreCandidate(): void {
    const s = this.s;
    this.abandonReads(null);
    s.role = 'PreCandidate';
    s.leader = null;
    s.resetElectionTimer();
    this.election = new Election(s, 'pre');
    if (this.election.result() === 'won') this.campaign();
    else this.election.ask(false);
  }

  /** §5.2: a new term, a vote for itself, and a request to every other voter. */
  private campaign(transfer = false): void {
    const s = this.s;
    this.abandonReads(null);
    // A node that may have lost its data gets here only in a new cluster's first election (RejoinGuard).
    s.rejoin = null;
    s.term += 1;
    s.vote = this.id;
    s.role = 'Candidate';
    s.leader = null;
    s.resetElectionTimer();
    this.election = new Election(s, 'real');
    if (this.election.result() === 'won') this.becomeLeader();
    else this.election.ask(transfer);
  }

  private becomeLeader(): void {
    const s = this.s;
    // A quorum elected it with its log as it is: whatever it was before, it is a full member now.
    s.rejoin = null;
    s.role = 'Leader';
    s.leader = this.id;
    s.electionElapsed = 0;
    s.preVotesInLease.clear();
    this.election = null;
    this.leading = new Leader(s, this.readRounds);
    this.leading.start();
  }

  /** Thesis §4.2.2: a leader that committed a configuration without itself steps down, once it has handed over if it can. */
  private stepDownIfRemoved(): void {
    if (this.leading === null || !this.leading.removed() || this.leading.handingOver()) return;
    this.becomeFollower(this.s.term, null);
  }

  // ---- shared rules -----------------------------------------------------------------------

  private receiveVote(m: RequestVoteResponse): void {
    if (this.election?.kind !== 'real') return;
    const result = this.election.record(m.from, m.granted);
    if (result === 'won') this.becomeLeader();
    else if (result === 'lost') this.becomeFollower(this.s.term, null);
  }

  private receivePreVoteAnswer(m: { from: NodeId; term: number; granted: boolean }): void {
    const s = this.s;
    if (!m.granted && m.term > s.term) {
      // The voter is in a later term: there is nothing to win in ours.
      this.becomeFollower(m.term, null);
      return;
    }
    // A grant counts only for the term proposed now; a refusal carries the voter's own term.
    const election = this.election;
    if (election?.kind !== 'pre' || (m.granted && m.term !== election.term)) return;
    const result = election.record(m.from, m.granted);
    if (result === 'won' && (s.rejoin === null || s.rejoin.mayCampaign(this.id, s.membership.allVoters()))) this.campaign();
    else if (result !== 'pending') this.becomeFollower(s.term, null);
  }

  /** Replies to a message from an older term, so that its sender learns of the newer one (§5.1). */
  private answerStale(message: Message): void {
    const s = this.s;
    if (message.type === 'RequestVote') {
      s.send<RequestVoteResponse>({ type: 'RequestVoteResponse', from: this.id, to: message.from, term: s.term, granted: false });
    } else if (message.type === 'AppendEntries' || message.type === 'InstallSnapshot') {
      s.send<AppendEntriesResponse>({
        type: 'AppendEntriesResponse',
        from: this.id,
        to: message.from,
        term: s.term,
        success: false,
        matchIndex: 0,
        rejectedIndex: message.type === 'AppendEntries' ? message.prevLogIndex : 0,
        conflictIndex: 0,
        conflictTerm: null,
        readRound: 0,
      });
    }
  }

  /**
   * Leadership changed hands (or the known leader did): reads this node was serving or waiting on
   * cannot be confirmed any more; their askers are told to ask again.
   */
  private abandonReads(newLeader: NodeId | null): void {
    const s = this.s;
    if (this.leading !== null) {
      this.leading.abandonReads();
    } else if (s.readsAtLeader.size > 0 && newLeader !== s.leader) {
      for (const context of s.readsAtLeader) s.readStates.push({ context, index: null });
      s.readsAtLeader.clear();
    }
  }

  /**
   * A claim about this node's own log that no correct peer can make. Acting on it would corrupt the
   * leader's bookkeeping (a match index beyond its log names entries it cannot send) or put terms
   * into the log that no leader wrote.
   */
  private implausibleClaim(m: Message): string | null {
    if (m.type === 'AppendEntries') {
      let previous = m.prevLogTerm;
      if (previous > m.term) return `the entry before its entries has term ${previous}, later than the message's term ${m.term}`;
      for (const e of m.entries) {
        // Terms along a log never decrease, and no leader writes an entry of a later term than its own (§5.3).
        if (e.term < previous || e.term > m.term) return `entry ${e.index} has term ${e.term}, outside ${previous}..${m.term}`;
        previous = e.term;
      }
    } else if (m.type === 'InstallSnapshot') {
      if (m.snapshot.term > m.term) return `its snapshot has term ${m.snapshot.term}, later than the message's term ${m.term}`;
    } else if (m.type === 'AppendEntriesResponse' && m.term === this.s.term && this.leading !== null) {
      return this.leading.implausibleAnswer(m);
    }
    return null;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit && a.rejoining === b.rejoining;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.term === b.term && a.leader === b.leader;
}
