import { RaftLog } from './log.ts';
import { Membership } from './membership.ts';
import type {
  AppendEntries,
  AppendEntriesResponse,
  InstallSnapshot,
  Message,
  PreVote,
  PreVoteResponse,
  ReadIndexResponse,
  RequestVote,
  RequestVoteResponse,
} from './messages.ts';
import { Progress } from './progress.ts';
import { ReadRounds, type ConfirmedReads, type ReadRequest } from './read-rounds.ts';
import { RejoinGuard } from './rejoin.ts';
import type { Ready, ReadState } from './ready.ts';
import type { Command, Entry, HardState, NodeId, Rng, Role, SnapshotMeta, SoftState } from './types.ts';

/** How a core is tuned. Times are in ticks: the runtime decides how long a tick is. */
export interface RaftOptions {
  readonly id: NodeId;
  /** The voters at bootstrap. */
  readonly voters: readonly NodeId[];
  /** Base election timeout; each wait is drawn from [electionTicks, 2 * electionTicks) (§5.2). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly rng: Rng;
  /** What storage held at start. */
  readonly hardState: HardState;
  readonly entries: readonly Entry[];
  /** The snapshot storage held at start, if any: `entries` follow it, and its voters are the membership. */
  readonly snapshot?: SnapshotMeta;
  /** Caps on one AppendEntries: entry count and total data length. */
  readonly maxEntriesPerMessage?: number;
  readonly maxBytesPerMessage?: number;
  /** Unacknowledged appends allowed per follower in replicate state. */
  readonly maxInflight?: number;
  /**
   * Committed entries handed out per ready batch, so that a long backlog (a restart replaying its
   * log) is applied in chunks between which the runtime can serve other work. Default 1024.
   */
  readonly maxApplyPerReady?: number;
  /** Ask for pre-votes before a real election (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /**
   * A leader that has not heard from a quorum for an election timeout steps down (thesis §6.2), and
   * a follower that heard from its leader within one ignores vote requests (thesis §4.2.3). Default true.
   */
  readonly checkQuorum?: boolean;
  /**
   * Serve reads from a leader lease instead of a heartbeat round per read (thesis §6.4.1): for this
   * many ticks after a quorum acknowledged a message, no other leader can exist, because those
   * voters ignore elections for an election timeout. Safe only if clocks tick at similar rates: the
   * runtime shortens the lease by the drift it assumes. 0 (the default) turns it off. Needs checkQuorum.
   */
  readonly leaseTicks?: number;
  /**
   * Test only: breaks one rule of the protocol on purpose, so that a test can show the simulator
   * finds the violation. Never set it outside tests.
   */
  readonly sabotage?: Sabotage;
}

/** Rules a test may break on purpose (see `RaftOptions.sabotage`). */
export type Sabotage =
  /** Grant votes and pre-votes without the §5.4.1 check that the candidate's log is up to date. */
  | 'vote-without-log-check'
  /** Serve reads at the commit index without a quorum confirming leadership first (against thesis §6.4). */
  | 'read-without-quorum'
  /** Keep a leader lease forever once a quorum acknowledged, however long ago (against thesis §6.4.1). */
  | 'lease-never-expires'
  /** Take no notice of a pause: the lease is measured in ticks alone, as if no time passed while none came. */
  | 'lease-ignores-pauses'
  /** Install a leader's snapshot even when it is older than what this node has committed (against §7). */
  | 'install-stale-snapshot';

/** Where a proposal landed in the log. It is applied only if it is still there when committed. */
export interface LogPosition {
  /** The log index of the entry. */
  readonly index: number;
  /** The term the entry was appended in. */
  readonly term: number;
}

/**
 * The Raft state machine of the paper (Ongaro & Ousterhout, 2014): leader election (§5.2), log
 * replication (§5.3) and the safety rules (§5.4). Pure and synchronous: no clock, no randomness but
 * the injected `Rng`, no I/O. Input comes through `tick`, `step` and `propose`; output leaves through
 * `ready` and is acknowledged with `advance`.
 */
export class RaftCore {
  readonly id: NodeId;
  private term: number;
  private vote: NodeId | null;
  private role: Role = 'Follower';
  private leader: NodeId | null = null;
  private readonly log: RaftLog;
  private membership: Membership;

  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly rng: Rng;
  private readonly maxEntriesPerMessage: number;
  private readonly maxBytesPerMessage: number;
  private readonly maxInflight: number;
  private readonly maxApplyPerReady: number;
  private readonly sabotage: Sabotage | null;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private progress = new Map<NodeId, Progress>();
  private outbox: Message[] = [];
  /** A leader's rounds of confirmation that it still leads, for reads (thesis §6.4, §6.4.1). */
  private readonly readRounds: ReadRounds;
  private readonly leaseReads: boolean;
  /** Reads that arrived before this leader committed an entry of its term. */
  private readsAwaitingCommit: ReadRequest[] = [];
  /** Contexts this follower sent to its leader and has no answer for. */
  private readsAtLeader = new Set<number>();
  private readStates: ReadState[] = [];
  /** Ticks since this core was built: the clock of the leader lease and of the start-up hold-off. */
  private ticks = 0;
  /** The node leadership is being handed to (thesis §3.10), and for how many ticks it has been. */
  private transferee: NodeId | null = null;
  private transferElapsed = 0;
  private lastHardState: HardState;
  private lastSoftState: SoftState;
  /** Set while this node, started on empty storage, may be a member that lost its data. */
  private rejoin: RejoinGuard | null;
  /** The newest snapshot: the one this node took or installed last, and sends to followers that need it (§7). */
  private snapshot: SnapshotMeta | null;
  /** A snapshot from the leader for the runtime to install, in the next batch. */
  private snapshotToInstall: SnapshotMeta | null = null;
  private warnings: string[] = [];

  constructor(options: RaftOptions) {
    this.id = options.id;
    this.term = options.hardState.term;
    this.vote = options.hardState.vote;
    this.log = new RaftLog(options.entries, options.hardState.commit, options.snapshot ?? { index: 0, term: 0 });
    this.membership = new Membership(options.snapshot?.voters ?? options.voters);
    this.snapshot = options.snapshot ?? null;
    this.electionTicks = options.electionTicks;
    this.heartbeatTicks = options.heartbeatTicks;
    this.rng = options.rng;
    this.maxEntriesPerMessage = options.maxEntriesPerMessage ?? 512;
    this.maxBytesPerMessage = options.maxBytesPerMessage ?? 1024 * 1024;
    this.maxInflight = options.maxInflight ?? 64;
    this.maxApplyPerReady = options.maxApplyPerReady ?? 1024;
    this.sabotage = options.sabotage ?? null;
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    const leaseTicks = options.leaseTicks ?? 0;
    if (leaseTicks > 0 && !this.checkQuorum)
      throw new Error('lease reads need checkQuorum: without it voters do not hold off elections while a leader is alive');
    if (leaseTicks >= options.electionTicks) throw new Error(`leaseTicks (${leaseTicks}) must be shorter than electionTicks (${options.electionTicks})`);
    this.leaseReads = leaseTicks > 0;
    this.readRounds = new ReadRounds(this.id, leaseTicks, {
      withoutQuorum: this.sabotage === 'read-without-quorum',
      leaseNeverExpires: this.sabotage === 'lease-never-expires',
    });
    if (this.heartbeatTicks < 1 || this.electionTicks <= this.heartbeatTicks) {
      throw new Error(`need 1 <= heartbeatTicks < electionTicks, got ${this.heartbeatTicks} and ${this.electionTicks}`);
    }
    // Nothing on disk: this may be a member that lost its data. The mark is kept in the hard state
    // until a leader has caught it up, so a crash before then does not lift it (see RejoinGuard).
    const blank = options.hardState.term === 0 && options.hardState.vote === null && options.entries.length === 0 && options.snapshot === undefined;
    this.rejoin = blank || options.hardState.rejoining === true ? new RejoinGuard() : null;
    // What storage holds, so that the first batch writes anything that differs (the rejoin mark).
    this.lastHardState = options.hardState;
    this.lastSoftState = this.softState();
    this.resetElectionTimer();
  }

  // ---- what the world may ask -------------------------------------------------------------

  softState(): SoftState {
    return { role: this.role, term: this.term, leader: this.leader };
  }

  hardState(): HardState {
    const hs = { term: this.term, vote: this.vote, commit: this.log.committed };
    return this.rejoin === null ? hs : { ...hs, rejoining: true };
  }

  commitIndex(): number {
    return this.log.committed;
  }

  appliedIndex(): number {
    return this.log.applied;
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  /** The term of the entry at `index`, or undefined when the log does not hold it. */
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }

  voters(): NodeId[] {
    return this.membership.allVoters();
  }

  // ---- inputs -----------------------------------------------------------------------------

  /** One unit of logical time. Followers and candidates count towards an election; leaders towards a heartbeat. */
  tick(): void {
    this.ticks++;
    if (this.role === 'Leader') {
      this.heartbeatElapsed++;
      if (this.heartbeatElapsed >= this.heartbeatTicks) {
        this.heartbeatElapsed = 0;
        this.broadcastHeartbeat();
      }
      if (this.transferee !== null && ++this.transferElapsed >= this.electionTicks) this.transferee = null;
      this.electionElapsed++;
      if (this.electionElapsed >= this.electionTicks) {
        this.electionElapsed = 0;
        if (this.checkQuorum && !this.quorumActive()) this.becomeFollower(this.term, null);
      }
      return;
    }
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout && this.membership.isVoter(this.id)) {
      // A node that may have lost its data asks first (its pre-vote shows the others its empty log),
      // unless it knows already that this is a new cluster's first election.
      if (this.preVote || this.rejoin?.mayCampaign(this.id, this.membership.allVoters()) === false) this.becomePreCandidate();
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
    if (this.sabotage === 'lease-ignores-pauses') return;
    this.readRounds.voidLease();
    for (let i = 0; i < Math.min(ticks, 2 * this.electionTicks); i++) this.tick();
  }

  /**
   * Appends operations to the log if this node leads. Returns where each landed, or null when this
   * node is not the leader (the caller forwards or redirects).
   */
  propose(commands: readonly Command[]): LogPosition[] | null {
    // During a transfer the log must stop growing, or the target could never catch up (thesis §3.10).
    if (this.role !== 'Leader' || this.transferee !== null) return null;
    const positions = this.appendAsLeader(commands.map(entryContent));
    for (const peer of this.progress.keys()) this.sendAppend(peer, false);
    return positions;
  }

  /**
   * Hands leadership to `target` (thesis §3.10), or to the most up-to-date voter when null: stops
   * taking proposals, brings the target's log up to date, then tells it to start an election at once.
   * Gives up after an election timeout. Returns the target, or null when this node does not lead or
   * there is no one to hand over to.
   */
  transferLeadership(target: NodeId | null): NodeId | null {
    if (this.role !== 'Leader') return null;
    const chosen = target ?? this.mostUpToDateFollower();
    if (chosen === null || chosen === this.id || !this.progress.has(chosen)) return null;
    this.transferee = chosen;
    this.transferElapsed = 0;
    this.readRounds.forfeitLease();
    this.maybeSendTimeoutNow();
    return chosen;
  }

  /** The node leadership is being handed to, if a transfer is under way. */
  transferTarget(): NodeId | null {
    return this.transferee;
  }

  /**
   * Asks for a read index (thesis §6.4). The answer arrives as a ReadState in a later ready batch.
   * Returns false when no leader is known, so there is nobody to ask.
   */
  readIndex(context: number): boolean {
    if (this.role === 'Leader') {
      this.leaderRead({ from: this.id, context });
      return true;
    }
    if (this.leader === null) return false;
    this.readsAtLeader.add(context);
    this.send({ type: 'ReadIndex', from: this.id, to: this.leader, term: this.term, context });
    return true;
  }

  /**
   * Handles one message from a peer. Messages for another node, or from nowhere we know, are dropped;
   * so is a message that claims what no correct peer can (it is reported in the next batch's warnings).
   */
  step(message: Message): void {
    if (message.to !== this.id || message.from === this.id) return;
    const implausible = this.implausibleClaim(message);
    if (implausible !== null) {
      this.warnings.push(`ignored a ${message.type} from ${message.from}: ${implausible}`);
      return;
    }
    if (this.rejoin !== null && (message.type === 'PreVote' || message.type === 'RequestVote')) {
      this.rejoin.noteCandidate(message.from, message.lastLogIndex);
    }
    if (message.type === 'PreVote') {
      this.handlePreVote(message);
      return;
    }
    if (message.type === 'PreVoteResponse') {
      this.handlePreVoteResponse(message);
      return;
    }
    if (message.type === 'RequestVote' && !message.transfer && message.term > this.term && this.inLease()) {
      // Thesis §4.2.3: while a leader is known to be alive, a vote request is disruption, not news.
      return;
    }
    if (message.term > this.term) {
      // §5.1: a higher term makes any node a follower of that term. Only an append names the leader.
      this.becomeFollower(message.term, message.type === 'AppendEntries' || message.type === 'InstallSnapshot' ? message.from : null);
    } else if (message.term < this.term) {
      this.answerStale(message);
      return;
    }
    switch (message.type) {
      case 'RequestVote':
        this.handleRequestVote(message);
        return;
      case 'RequestVoteResponse':
        if (this.role === 'Candidate') this.handleVoteResponse(message);
        return;
      case 'AppendEntries':
        // §5.2: a candidate that hears from a leader of its term gives way.
        if (this.role !== 'Follower' || this.leader !== message.from) this.becomeFollower(this.term, message.from);
        this.handleAppendEntries(message);
        return;
      case 'AppendEntriesResponse':
        if (this.role === 'Leader') this.handleAppendResponse(message);
        return;
      case 'TimeoutNow':
        // Only the leader of this term may hand over; the election starts now, without a pre-vote.
        if (this.role === 'Follower' && message.from === this.leader && this.membership.isVoter(this.id) && this.rejoin === null) this.campaign(true);
        return;
      case 'ReadIndex':
        if (this.role === 'Leader') this.leaderRead({ from: message.from, context: message.context });
        else this.answerRead({ from: message.from, context: message.context }, null);
        return;
      case 'ReadIndexResponse':
        if (this.readsAtLeader.delete(message.context)) this.readStates.push({ context: message.context, index: message.index });
        return;
      case 'InstallSnapshot':
        if (this.role !== 'Follower' || this.leader !== message.from) this.becomeFollower(this.term, message.from);
        this.handleInstallSnapshot(message);
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
    if (index <= (this.snapshot?.index ?? 0) || index <= this.log.start().index) return null;
    const term = this.log.term(index);
    if (term === undefined) throw new Error(`cannot compact to ${index}: the log holds ${this.log.firstIndex()} to ${this.log.lastIndex()}`);
    if (index > this.log.applied) throw new Error(`cannot compact to ${index}: past the applied index ${this.log.applied}`);
    this.snapshot = { index, term, voters: this.membership.allVoters() };
    this.log.compactTo(Math.max(this.log.start().index, index - keep));
    return this.snapshot;
  }

  /** The newest snapshot this node took or installed, or null. */
  latestSnapshot(): SnapshotMeta | null {
    return this.snapshot;
  }

  /** The first index the log holds (entries before it are in the snapshot). */
  firstIndex(): number {
    return this.log.firstIndex();
  }

  // ---- output -----------------------------------------------------------------------------

  hasReady(): boolean {
    return (
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.warnings.length > 0 ||
      this.snapshotToInstall !== null ||
      this.log.hasUnstable() ||
      this.log.hasNextToApply() ||
      !sameHardState(this.hardState(), this.lastHardState) ||
      !sameSoftState(this.softState(), this.lastSoftState)
    );
  }

  /** Collects what must be persisted, sent and applied. Call `advance` once it is all done. */
  ready(): Ready {
    const hardState = this.hardState();
    const softState = this.softState();
    const ready: Ready = {
      softState: sameSoftState(softState, this.lastSoftState) ? null : softState,
      hardState: sameHardState(hardState, this.lastHardState) ? null : hardState,
      snapshot: this.snapshotToInstall,
      entries: this.log.unstableEntries(),
      messages: this.outbox,
      committedEntries: this.log.nextToApply(this.maxApplyPerReady),
      readStates: this.readStates,
      warnings: this.warnings,
    };
    this.outbox = [];
    this.readStates = [];
    this.warnings = [];
    this.snapshotToInstall = null;
    this.lastHardState = hardState;
    this.lastSoftState = softState;
    return ready;
  }

  /** Records that a batch from `ready` was persisted, sent and applied. */
  advance(ready: Ready): void {
    if (ready.snapshot !== null) this.log.snapshotApplied(ready.snapshot.index);
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    // The leader's own durable entries count towards its quorum (§5.3 with thesis §10.2.1).
    if (this.role === 'Leader' && this.maybeCommit()) this.broadcastCommit();
  }

  // ---- transitions ------------------------------------------------------------------------

  private becomeFollower(term: number, leader: NodeId | null): void {
    this.abandonReads(leader);
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.role = 'Follower';
    this.leader = leader;
    this.transferee = null;
    this.progress.clear();
    this.resetElectionTimer();
  }

  private campaign(transfer = false): void {
    this.abandonReads(null);
    // A node that may have lost its data gets here only in a new cluster's first election (RejoinGuard).
    this.rejoin = null;
    this.term += 1;
    this.vote = this.id;
    this.role = 'Candidate';
    this.leader = null;
    this.resetElectionTimer();
    this.votes = new Map([[this.id, true]]);
    if (this.membership.voteResult(this.votes) === 'won') {
      this.becomeLeader();
      return;
    }
    for (const peer of this.membership.allVoters()) {
      if (peer === this.id) continue;
      this.send<RequestVote>({
        type: 'RequestVote',
        from: this.id,
        to: peer,
        term: this.term,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  /** Thesis §9.6: ask whether a real election could be won before disturbing anyone's term. */
  private becomePreCandidate(): void {
    this.abandonReads(null);
    this.role = 'PreCandidate';
    this.leader = null;
    this.resetElectionTimer();
    this.votes = new Map([[this.id, true]]);
    if (this.membership.voteResult(this.votes) === 'won') {
      this.campaign();
      return;
    }
    for (const peer of this.membership.allVoters()) {
      if (peer === this.id) continue;
      this.send<PreVote>({
        type: 'PreVote',
        from: this.id,
        to: peer,
        term: this.term + 1,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
      });
    }
  }

  private becomeLeader(): void {
    // A quorum elected it with its log as it is: whatever it was before, it is a full member now.
    this.rejoin = null;
    this.role = 'Leader';
    this.leader = this.id;
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.progress.clear();
    this.readRounds.reset();
    this.transferee = null;
    for (const peer of this.membership.allVoters()) {
      if (peer !== this.id) this.progress.set(peer, new Progress(this.log.lastIndex() + 1, this.maxInflight));
    }
    // §5.4.2 / §8: a leader commits nothing of earlier terms by counting replicas, so it appends an
    // entry of its own term at once; committing it commits everything before it.
    this.appendAsLeader([{ kind: 'noop', data: '' }]);
    for (const peer of this.progress.keys()) this.sendAppend(peer, true);
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + this.rng.nextInt(this.electionTicks);
  }

  // ---- handlers ---------------------------------------------------------------------------

  /** Replies to a message from an older term, so that its sender learns of the newer one (§5.1). */
  private answerStale(message: Message): void {
    if (message.type === 'RequestVote') {
      this.send<RequestVoteResponse>({ type: 'RequestVoteResponse', from: this.id, to: message.from, term: this.term, granted: false });
    } else if (message.type === 'AppendEntries' || message.type === 'InstallSnapshot') {
      this.send<AppendEntriesResponse>({
        type: 'AppendEntriesResponse',
        from: this.id,
        to: message.from,
        term: this.term,
        success: false,
        matchIndex: 0,
        rejectedIndex: message.type === 'AppendEntries' ? message.prevLogIndex : 0,
        conflictIndex: 0,
        conflictTerm: null,
        readRound: 0,
      });
    }
  }

  /** §5.2 and §5.4.1: one vote per term, and only for a candidate whose log is at least as up to date. */
  private handleRequestVote(m: RequestVote): void {
    const canVote = this.vote === null || this.vote === m.from;
    const granted = canVote && this.candidateUpToDate(m) && this.mayVoteWhileRejoining(m);
    if (granted) {
      this.vote = m.from;
      this.resetElectionTimer();
      // Granted while rejoining: this is a new cluster's first election, and there is nothing to protect.
      this.rejoin = null;
    }
    this.send<RequestVoteResponse>({ type: 'RequestVoteResponse', from: this.id, to: m.from, term: this.term, granted });
  }

  /**
   * Thesis §9.6: grant a pre-vote to a log at least as up to date, for a later term, unless a leader
   * was heard from within the election timeout. Neither the term nor the vote changes.
   */
  private handlePreVote(m: PreVote): void {
    const granted = m.term > this.term && !this.inLease() && this.candidateUpToDate(m) && this.mayVoteWhileRejoining(m);
    this.send<PreVoteResponse>({ type: 'PreVoteResponse', from: this.id, to: m.from, term: granted ? m.term : this.term, granted });
  }

  private handlePreVoteResponse(m: PreVoteResponse): void {
    if (!m.granted && m.term > this.term) {
      // The voter is in a later term: there is nothing to win in ours.
      this.becomeFollower(m.term, null);
      return;
    }
    // A grant counts only for the term proposed now; a refusal carries the voter's own term.
    if (this.role !== 'PreCandidate' || (m.granted && m.term !== this.term + 1)) return;
    this.votes.set(m.from, m.granted);
    const result = this.membership.voteResult(this.votes);
    if (result === 'won' && (this.rejoin === null || this.rejoin.mayCampaign(this.id, this.membership.allVoters()))) this.campaign();
    else if (result !== 'pending') this.becomeFollower(this.term, null);
  }

  /** A node that may have lost its data votes only in a new cluster's first elections (see RejoinGuard). */
  private mayVoteWhileRejoining(m: RequestVote | PreVote): boolean {
    return this.rejoin === null || this.rejoin.mayVote(m.lastLogIndex, this.id, this.membership.allVoters());
  }

  /**
   * While rejoining, on every append from the leader of this term: the leader won the term, so its
   * vote in this term, whatever it was before the data was lost, can be taken as the leader's.
   */
  private heardLeaderWhileRejoining(leader: NodeId, leaderCommit: number): void {
    this.rejoin!.heardLeader(this.term, leaderCommit);
    if (this.vote === null) this.vote = leader;
  }

  /** Back to the ordinary rules once this node's log matches the leader's far enough (RejoinGuard.caughtUp). */
  private maybeEndRejoin(matched: number): void {
    if (this.rejoin?.caughtUp(matched, this.log.term(matched) ?? 0) === true) this.rejoin = null;
  }

  /** Whether this node holds back from elections because it may have lost its data (see RejoinGuard). */
  isRejoining(): boolean {
    return this.rejoin !== null;
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
    } else if (m.type === 'AppendEntriesResponse' && m.term === this.term && this.role === 'Leader') {
      const last = this.log.lastIndex();
      if (m.success && m.matchIndex > last) return `it claims to match up to index ${m.matchIndex}, beyond this leader's last index ${last}`;
      if (m.rejectedIndex > last) return `it rejects index ${m.rejectedIndex}, beyond this leader's last index ${last}`;
    }
    return null;
  }

  /** §5.4.1, for votes and pre-votes alike. */
  private candidateUpToDate(m: RequestVote | PreVote): boolean {
    return this.sabotage === 'vote-without-log-check' || this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  }

  /** Whether this node heard from a live leader (or is one) within the last election timeout. */
  private inLease(): boolean {
    if (!this.checkQuorum || this.electionElapsed >= this.electionTicks) return false;
    // With lease reads, a node that just started may have acknowledged a leader before it went
    // down, so it, too, holds off elections for one election timeout.
    return this.leader !== null || (this.leaseReads && this.ticks < this.electionTicks);
  }

  /** Whether a quorum was heard from since the last check (thesis §6.2). Clears the marks for the next window. */
  private quorumActive(): boolean {
    const active = new Map<NodeId, boolean>([[this.id, true]]);
    for (const [peer, pr] of this.progress) {
      active.set(peer, pr.recentActive);
      pr.recentActive = false;
    }
    return this.membership.voteResult(active) === 'won';
  }

  private handleVoteResponse(m: RequestVoteResponse): void {
    this.votes.set(m.from, m.granted);
    const result = this.membership.voteResult(this.votes);
    if (result === 'won') this.becomeLeader();
    else if (result === 'lost') this.becomeFollower(this.term, null);
  }

  /** §5.3, the AppendEntries receiver rules. */
  private handleAppendEntries(m: AppendEntries): void {
    this.electionElapsed = 0;
    if (this.rejoin !== null) this.heardLeaderWhileRejoining(m.from, m.leaderCommit);
    const reply = (fields: Pick<AppendEntriesResponse, 'success' | 'matchIndex' | 'conflictIndex' | 'conflictTerm'>): void =>
      this.send<AppendEntriesResponse>({
        type: 'AppendEntriesResponse',
        from: this.id,
        to: m.from,
        term: this.term,
        rejectedIndex: m.prevLogIndex,
        readRound: m.readRound,
        ...fields,
      });

    if (m.prevLogIndex < this.log.committed) {
      // Everything up to our commit index is known to match any leader's log (§5.4.3); skip that part.
      const fresh = m.entries.filter((e) => e.index > this.log.committed);
      const match = this.log.merge(this.log.committed, fresh);
      this.log.commitTo(Math.min(m.leaderCommit, match));
      if (this.rejoin !== null) this.maybeEndRejoin(match);
      reply({ success: true, matchIndex: match, conflictIndex: 0, conflictTerm: null });
      return;
    }
    const heldTerm = this.log.term(m.prevLogIndex);
    if (heldTerm === undefined) {
      reply({ success: false, matchIndex: 0, conflictIndex: this.log.lastIndex() + 1, conflictTerm: null });
      return;
    }
    if (heldTerm !== m.prevLogTerm) {
      // Name the conflicting term and where it starts, so the leader can skip all of it at once.
      const conflictIndex = this.log.firstIndexOfTermAt(m.prevLogIndex, this.log.committed + 1);
      reply({ success: false, matchIndex: 0, conflictIndex, conflictTerm: heldTerm });
      return;
    }
    const match = this.log.merge(m.prevLogIndex, m.entries);
    // Rule 5: commit no further than the last entry this message vouches for.
    this.log.commitTo(Math.min(m.leaderCommit, match));
    if (this.rejoin !== null) this.maybeEndRejoin(match);
    reply({ success: true, matchIndex: match, conflictIndex: 0, conflictTerm: null });
  }

  /**
   * §7: a snapshot replaces whatever of the log it covers, unless this node has already committed
   * past it (an old or repeated snapshot) or holds its last entry (then it only learns what is committed).
   */
  private handleInstallSnapshot(m: InstallSnapshot): void {
    this.electionElapsed = 0;
    // A snapshot holds only committed state: its index is one the leader has committed.
    if (this.rejoin !== null) this.heardLeaderWhileRejoining(m.from, m.snapshot.index);
    const { index, term } = m.snapshot;
    const reply = (matchIndex: number): void =>
      this.send<AppendEntriesResponse>({
        type: 'AppendEntriesResponse',
        from: this.id,
        to: m.from,
        term: this.term,
        success: true,
        matchIndex,
        rejectedIndex: 0,
        conflictIndex: 0,
        conflictTerm: null,
        readRound: m.readRound,
      });
    if (index <= this.log.committed && this.sabotage !== 'install-stale-snapshot') {
      reply(this.log.committed);
      return;
    }
    if (index <= this.log.lastIndex() && this.log.term(index) === term && index > this.log.committed) {
      this.log.commitTo(index);
    } else {
      this.log.restore({ index, term });
      this.membership = new Membership(m.snapshot.voters);
      this.snapshot = m.snapshot;
      this.snapshotToInstall = m.snapshot;
    }
    if (this.rejoin !== null) this.maybeEndRejoin(index);
    reply(index);
  }

  private handleAppendResponse(m: AppendEntriesResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    // Any answer in this term says the follower still takes this node as leader: it confirms reads.
    this.answerConfirmed(this.readRounds.acknowledge(m.from, m.readRound, this.membership));
    if (pr.state === 'snapshot') {
      // Only the snapshot's acknowledgement (or an answer past it) resumes replication; the rest is old.
      if (!m.success || m.matchIndex < pr.pendingSnapshot) return;
      pr.maybeUpdate(m.matchIndex);
      pr.becomeReplicate();
      if (this.maybeCommit()) this.broadcastCommit();
      this.sendAppend(m.from, false);
      return;
    }
    if (m.success) {
      const wasProbing = pr.state === 'probe';
      if (pr.maybeUpdate(m.matchIndex) || wasProbing) {
        if (wasProbing) pr.becomeReplicate();
        if (this.maybeCommit()) this.broadcastCommit();
        if (m.from === this.transferee) this.maybeSendTimeoutNow();
      }
      this.sendAppend(m.from, false);
      return;
    }
    if (m.conflictTerm === null && m.conflictIndex <= pr.match) {
      // The follower says its log ends below what it acknowledged: it lost entries (its data directory
      // was lost, or a failed write cut its tail). Without this, every rejection at or below the old
      // match would look overtaken, and the follower would never catch up under this leader.
      this.warnings.push(
        `follower ${m.from}'s log ends at index ${m.conflictIndex - 1}, below the ${pr.match} it acknowledged: it lost entries; sending them again`,
      );
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

  /** Sends TimeoutNow once the transfer target's log matches ours; until then, sends it what it lacks. */
  private maybeSendTimeoutNow(): void {
    const target = this.transferee;
    const pr = target === null ? undefined : this.progress.get(target);
    if (target === null || pr === undefined) return;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'TimeoutNow', from: this.id, to: target, term: this.term });
    else this.sendAppend(target, true);
  }

  private mostUpToDateFollower(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const [peer, pr] of this.progress) {
      if (this.membership.isVoter(peer) && pr.match > bestMatch) {
        best = peer;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** Where to try next after a rejection: past the leader's last entry of the conflicting term, if any. */
  private nextAfterConflict(m: AppendEntriesResponse): number {
    if (m.conflictTerm === null) return m.conflictIndex;
    const last = this.log.lastIndexOfTerm(m.conflictTerm);
    return last > 0 ? last + 1 : m.conflictIndex;
  }

  // ---- leader machinery -------------------------------------------------------------------

  private appendAsLeader(items: readonly EntryContent[]): LogPosition[] {
    let index = this.log.lastIndex();
    const entries = items.map((item): Entry => ({ index: ++index, term: this.term, ...item }));
    this.log.append(entries);
    return entries.map((e) => ({ index: e.index, term: e.term }));
  }

  /**
   * §5.3 and §5.4.2: commit the highest index a quorum holds, but only if that entry is of the current
   * term; entries of earlier terms are committed with it, never by counting their own replicas.
   */
  private maybeCommit(): boolean {
    const index = this.membership.committedIndex((id) => (id === this.id ? this.log.stable : (this.progress.get(id)?.match ?? 0)));
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false;
    this.log.commitTo(index);
    if (this.readsAwaitingCommit.length > 0) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      this.startReadRound(waiting);
    }
    return true;
  }

  // ---- linearizable reads (thesis §6.4) -------------------------------------------------------

  /**
   * A leader may serve a read at its commit index once it has committed an entry of its own term
   * (so it knows the latest commit index) and a quorum has answered a heartbeat sent after the read
   * arrived (so no newer leader can have committed anything it does not know of).
   */
  private leaderRead(request: ReadRequest): void {
    if (this.log.term(this.log.committed) !== this.term) this.readsAwaitingCommit.push(request);
    else if (this.readRounds.leaseHeld(this.ticks)) this.answerRead(request, this.log.committed);
    else this.startReadRound([request]);
  }

  private startReadRound(requests: ReadRequest[]): void {
    this.answerConfirmed(this.readRounds.wait(this.ticks, this.log.committed, requests, this.membership));
    if (this.readRounds.pending) {
      for (const peer of this.progress.keys()) this.sendEntries(peer, this.progress.get(peer)!.next - 1, []);
    }
  }

  private answerConfirmed(confirmed: readonly ConfirmedReads[]): void {
    for (const { index, requests } of confirmed) for (const request of requests) this.answerRead(request, index);
  }

  private answerRead(request: ReadRequest, index: number | null): void {
    if (request.from === this.id) this.readStates.push({ context: request.context, index });
    else this.send<ReadIndexResponse>({ type: 'ReadIndexResponse', from: this.id, to: request.from, term: this.term, context: request.context, index });
  }

  /**
   * Leadership changed hands (or the known leader did): reads this node was serving or waiting on
   * cannot be confirmed any more; their askers are told to ask again.
   */
  private abandonReads(newLeader: NodeId | null): void {
    if (this.role === 'Leader') {
      for (const r of [...this.readRounds.abandon(), ...this.readsAwaitingCommit]) this.answerRead(r, null);
      this.readsAwaitingCommit = [];
    } else if (this.readsAtLeader.size > 0 && newLeader !== this.leader) {
      for (const context of this.readsAtLeader) this.readStates.push({ context, index: null });
      this.readsAtLeader.clear();
    }
  }

  /** Tells followers the new commit index promptly, so their applies (and waiting callers) do not wait for a heartbeat. */
  private broadcastCommit(): void {
    for (const [peer, pr] of this.progress) {
      if (pr.state === 'replicate') this.sendAppend(peer, true);
    }
  }

  private broadcastHeartbeat(): void {
    // With leases, every heartbeat is a round whose acknowledgements renew the lease.
    if (this.leaseReads) this.readRounds.next(this.ticks);
    for (const [peer, pr] of this.progress) {
      if (pr.state === 'probe') {
        pr.probeSent = false;
        this.sendAppend(peer, true);
      } else if (pr.state === 'snapshot') {
        if (++pr.snapshotHeartbeats * this.heartbeatTicks >= this.electionTicks) {
          // No acknowledgement within an election timeout: the snapshot was probably lost. Start over.
          pr.becomeProbe(pr.match + 1);
          this.sendAppend(peer, true);
        } else {
          // A heartbeat where the log starts, so the follower's election timer does not run out meanwhile.
          this.sendEntries(peer, this.log.start().index, []);
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
    if (pr.next <= this.log.start().index) {
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
    const snapshot = this.snapshot;
    if (snapshot === null) throw new Error(`log invariant broken: the log starts after ${this.log.start().index} but there is no snapshot`);
    this.send<InstallSnapshot>({ type: 'InstallSnapshot', from: this.id, to: peer, term: this.term, snapshot, readRound: this.readRounds.current });
    pr.becomeSnapshot(snapshot.index);
  }

  private sendEntries(peer: NodeId, prevLogIndex: number, entries: readonly Entry[]): void {
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      // Compacted past it (a read round or heartbeat for a follower this far behind): send the snapshot.
      const pr = this.progress.get(peer);
      if (pr !== undefined && pr.state !== 'snapshot') this.sendSnapshot(peer, pr);
      return;
    }
    this.send<AppendEntries>({
      type: 'AppendEntries',
      from: this.id,
      to: peer,
      term: this.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: this.log.committed,
      readRound: this.readRounds.current,
    });
  }

  private entriesFrom(next: number): Entry[] {
    const candidates = this.log.slice(next, next + this.maxEntriesPerMessage - 1);
    let bytes = 0;
    let count = 0;
    for (const entry of candidates) {
      bytes += entry.data.length;
      // Always send at least one entry, however large, or the follower could never catch up.
      if (count > 0 && bytes > this.maxBytesPerMessage) break;
      count++;
    }
    return candidates.slice(0, count);
  }

  private send<M extends Message>(message: M): void {
    this.outbox.push(message);
  }
}

/** An entry but for its place in the log. */
type EntryContent = Omit<Entry, 'index' | 'term'>;

/** The entry a proposed command becomes: built field by field, so nothing else a command object holds reaches the log. */
function entryContent(command: Command): EntryContent {
  if (command.kind === 'session') return { kind: 'session', data: '' };
  return command.stamp === undefined ? { kind: 'normal', data: command.data } : { kind: 'normal', data: command.data, stamp: command.stamp };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit && a.rejoining === b.rejoining;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.term === b.term && a.leader === b.leader;
}
