import type { ConfigurationLog } from './configuration-log.ts';
import type { RaftLog } from './log.ts';
import { Membership } from './membership.ts';
import type { Message, PreVote, RequestVote } from './messages.ts';
import type { ReadRequest } from './read-rounds.ts';
import type { ReadState } from './ready.ts';
import type { RejoinGuard } from './rejoin.ts';
import type { Sabotage } from './settings.ts';
import type { Entry, NodeId, Rng, Role, SnapshotMeta } from './types.ts';

/** The core's tuning, resolved from RaftOptions with its defaults. */
export interface CoreSettings {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly rng: Rng;
  readonly maxEntriesPerMessage: number;
  readonly maxBytesPerMessage: number;
  readonly maxInflight: number;
  readonly maxApplyPerReady: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly leaseTicks: number;
  readonly sabotage: Sabotage | null;
}

/**
 * What every role shares: the persistent state of Figure 2 (term, vote, log), who leads as far as
 * this node knows, the configuration in force, the timers, and what is waiting to leave in the next
 * ready batch. The roles (follower.ts, candidate.ts, leader.ts) read and change it; RaftCore decides
 * which role is in force.
 */
export class RaftState {
  term: number;
  vote: NodeId | null;
  role: Role = 'Follower';
  leader: NodeId | null = null;
  membership: Membership;
  /** The newest snapshot: the one this node took or installed last, and sends to followers that need it (§7). */
  snapshot: SnapshotMeta | null;
  /** A snapshot from the leader for the runtime to install, in the next batch. */
  snapshotToInstall: SnapshotMeta | null = null;
  /** Set while this node, started on empty storage, may be a member that lost its data. */
  rejoin: RejoinGuard | null;

  electionElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Ticks since this core was built: the clock of the leader lease and of the start-up hold-off. */
  ticks = 0;

  outbox: Message[] = [];
  readStates: ReadState[] = [];
  warnings: string[] = [];
  /** Contexts this node sent to its leader and has no answer for. */
  readonly readsAtLeader = new Set<number>();
  /**
   * Pre-votes refused only because this node's lease on a leader still ran, by candidate: answered
   * again once the lease ends, unless a leader is heard from first (see answerPreVotesAfterLease).
   */
  readonly preVotesInLease = new Map<NodeId, PreVote>();
  /** The configurations the log holds; the latest is in force (thesis §4.1). */
  readonly configs: ConfigurationLog;

  constructor(
    readonly id: NodeId,
    readonly settings: CoreSettings,
    readonly log: RaftLog,
    init: { term: number; vote: NodeId | null; configs: ConfigurationLog; snapshot: SnapshotMeta | null; rejoin: RejoinGuard | null },
  ) {
    this.term = init.term;
    this.vote = init.vote;
    this.configs = init.configs;
    this.membership = new Membership(init.configs.current().configuration);
    this.snapshot = init.snapshot;
    this.rejoin = init.rejoin;
  }

  /**
   * Re-reads the configuration in force after the log changed: `appended` were just added, and
   * anything after the log's new end is gone. Returns whether the configuration changed.
   */
  syncConfiguration(appended: readonly Entry[]): boolean {
    if (!this.configs.sync(this.log, appended)) return false;
    this.membership = new Membership(this.configs.current().configuration);
    return true;
  }

  /** The log restarts after a snapshot: its configuration is in force. */
  restoreConfiguration(snapshot: SnapshotMeta): void {
    this.configs.restored(snapshot.index, snapshot.configuration);
    this.membership = new Membership(snapshot.configuration);
  }

  send<M extends Message>(message: M): void {
    this.outbox.push(message);
  }

  /** Something the operator should hear of; the runtime logs it. */
  warn(text: string): void {
    this.warnings.push(text);
  }

  /** §5.2: each wait for an election is drawn anew from [electionTicks, 2 * electionTicks). */
  resetElectionTimer(): void {
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.settings.electionTicks + this.settings.rng.nextInt(this.settings.electionTicks);
  }

  /**
   * Whether this node may stand for election: it votes in the configuration in force; or that
   * configuration removes it but is not known to be committed, and it voted in the one before. The
   * second case matters when this node holds the entry that removes it and the others need its vote
   * under the configuration before (their log lacks the entry, so it refuses them): only it can then
   * be elected, to commit its own removal and step down (thesis §4.2.2). Its own vote counts for nothing.
   */
  mayCampaign(): boolean {
    if (this.membership.isVoter(this.id)) return true;
    const latest = this.configs.current();
    return latest.index > this.log.committed && new Membership(this.configs.at(latest.index - 1)).isVoter(this.id);
  }

  /** Whether this node heard from a live leader (or is one) within the last election timeout. */
  inLease(): boolean {
    if (!this.settings.checkQuorum || this.electionElapsed >= this.settings.electionTicks) return false;
    // With lease reads, a node that just started may have acknowledged a leader before it went
    // down, so it, too, holds off elections for one election timeout.
    return this.leader !== null || (this.settings.leaseTicks > 0 && this.ticks < this.settings.electionTicks);
  }

  /** §5.4.1, for votes and pre-votes alike. */
  candidateUpToDate(m: RequestVote | PreVote): boolean {
    return this.settings.sabotage === 'vote-without-log-check' || this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  }

  /** Answers a read with the index it may be served at, or null: ask again. */
  answerRead(request: ReadRequest, index: number | null): void {
    if (request.from === this.id) this.readStates.push({ context: request.context, index });
    else this.send({ type: 'ReadIndexResponse', from: this.id, to: request.from, term: this.term, context: request.context, index });
  }
}
