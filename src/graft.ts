import { randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Registry, type RegistryContentType } from 'prom-client';
import { bootstrapConfiguration, formatAddress, parseAddress, type ClusterConfig } from './config.ts';
import { Membership, type Configuration } from './core/membership.ts';
import { seededRng } from './core/rng.ts';
import type { NodeId, Role } from './core/types.ts';
import { GraftError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { GraftMetrics } from './metrics/graft-metrics.ts';
import { defaultStorage, ownAddress, validateOptions, type GraftOptions, type TestKnobs } from './options.ts';
import { Applier } from './runtime/applier.ts';
import { realClock, type Clock } from './runtime/clock.ts';
import type { GraftEvents } from './runtime/events.ts';
import { ElectionLog } from './runtime/election-log.ts';
import { RaftNode } from './runtime/node.ts';
import { awaitHandover } from './runtime/leadership-handover.ts';
import { MembershipChanges, type MemberInfo } from './runtime/membership-changes.ts';
import { DeadlineQueue, type Expiring } from './runtime/deadlines.ts';
import { OwnedTimers } from './runtime/owned-timers.ts';
import { Proposer } from './runtime/proposer.ts';
import { awaitReadBarrier } from './runtime/read-barrier.ts';
import { ClientSession, type OperationWaiter } from './session/client-session.ts';
import { SESSION_CAPACITY, SessionTable, type Outcome } from './session/session-table.ts';
import type { Storage } from './storage/storage.ts';
import { WebSocketTransport } from './transport/ws/ws-transport.ts';

export type { GraftOptions, TestKnobs } from './options.ts';

/** A snapshot of one node's view of the cluster. */
export interface GraftStatus {
  /** This node's machine id. */
  readonly id: NodeId;
  /** The id of the cluster this node belongs to: null until its log names one (a new member, or a cluster bootstrapped before ids). */
  readonly clusterId: string | null;
  /** `Stopped` once the instance has stopped, by `stop()` or after a fatal error: it has no role then. */
  readonly role: Role | 'Stopped';
  /** The current term (§5.1). */
  readonly term: number;
  /** The leader this node knows of, or null (during an election, or when stopped). */
  readonly leader: NodeId | null;
  /** The highest log index known to be committed. */
  readonly commitIndex: number;
  /** The highest log index applied to the state machine here. Invariant: appliedIndex <= commitIndex. */
  readonly appliedIndex: number;
  /** The first index this node's log holds; entries before it are in its snapshot. */
  readonly firstIndex: number;
  /** The index the newest snapshot here covers; 0 when there is none. */
  readonly snapshotIndex: number;
  /** Every member of the configuration in force: the latest in this node's log (thesis §4.1). */
  readonly members: readonly {
    /** The member's machine id. */
    readonly id: NodeId;
    /** Where it listens, `host:port`. */
    readonly address: string;
    /** A voter, or a learner that only receives the log. */
    readonly role: 'voter' | 'learner';
  }[];
}

/** What a WaitingOperation asks of the instance that started it. */
interface OperationOwner {
  /** Ends the operation's wait; false when its deadline passed first (its caller was told so). */
  release(operation: WaitingOperation): boolean;
  /** The operation was applied here. */
  applied(operation: WaitingOperation): void;
}

/**
 * An operation `applyOperation` waits on: its number in the session, its deadline, its size, and its
 * caller's promise, which the session's verdict or the deadline settles, whichever comes first.
 */
class WaitingOperation implements OperationWaiter, Expiring {
  seq = 0;
  expiresAt = 0;
  waiting = false;

  constructor(
    private readonly owner: OperationOwner,
    readonly size: number,
    readonly proposedAt: number,
    private resolve: (value: unknown) => void,
    private reject: (error: Error) => void,
  ) {}

  settled(outcome: Outcome): void {
    if (!this.owner.release(this)) return;
    this.owner.applied(this);
    if (outcome.ok) this.resolve(outcome.value);
    else this.reject(outcome.error);
    this.letGo();
  }

  failed(error: Error): void {
    if (this.owner.release(this)) this.reject(error);
    this.letGo();
  }

  /** Its deadline passed first: its caller is told so. */
  expired(error: Error): void {
    this.reject(error);
    this.letGo();
  }

  /** Answered: the caller's promise is no longer this operation's to hold (it may wait in the deadline queue a while). */
  private letGo(): void {
    this.resolve = ignore;
    this.reject = ignore;
  }
}

function ignore(): void {}

/**
 * Makes a state machine replicated: hand it an applicator and a serializer, call `applyOperation`.
 * The operation is appended to the replicated log (through the leader, wherever it is called), and
 * the promise resolves with what this node's applicator returned for it once it is committed and
 * applied here. Every node applies the same operations in the same order.
 */
export class GraftInstance<Op, Result = unknown> extends EventEmitter<GraftEvents> {
  /** This node's machine id, as a string. */
  readonly id: NodeId;
  /** The validated cluster configuration this instance runs with. */
  readonly config: ClusterConfig;
  /**
   * The prom-client registry that holds this instance's metrics (GraftOptions.metricsRegistry, or one
   * of its own): serve `await metrics.metrics()` with `metrics.contentType` to Prometheus. Gauges are
   * read from the node when scraped. See the README's "Metrics" for what each one means.
   */
  readonly metrics: Registry<RegistryContentType>;
  /** What the layers below report to, and the metrics read. */
  private readonly meters: GraftMetrics;
  private readonly options: GraftOptions<Op, Result>;
  private readonly logger: Logger;
  /** Says in the log when elections start, are won or lost. */
  private readonly elections: ElectionLog;
  private readonly clock: Clock;
  /** Every timer of this instance (deadlines, retries, polls), cancelled when it stops. */
  private readonly timers: OwnedTimers;
  /** Read barriers waiting, failed when the instance stops (their timers are cancelled with it). */
  private readonly barriers = new Set<(error: Error) => void>();
  private readonly requestTimeoutMs: number;
  /** The deadlines of this instance's operations waiting for their outcome (requestTimeoutMs each). */
  private readonly operationDeadlines: DeadlineQueue<WaitingOperation>;
  /** How this instance's waiting operations end: made once, not per operation. */
  private readonly operations: OperationOwner = {
    // An operation's outcome came: it no longer counts as waiting. False when its deadline had passed first.
    release: (operation) => {
      if (!this.operationDeadlines.settle(operation)) return false;
      this.pendingOperations--;
      this.pendingBytes -= operation.size;
      return true;
    },
    // Applied here, whether the applicator returned or threw: that is the latency of a commit.
    applied: (operation) => this.meters.commitLatency.observe((this.clock.now() - operation.proposedAt) / 1000),
  };
  /** This instance's operations waiting for their outcome, and their serialized size: bounded (OVERLOADED). */
  private pendingOperations = 0;
  private pendingBytes = 0;
  private readonly storage: Storage;
  private readonly node: RaftNode;
  /** This instance's own session, through which all its operations go (thesis §6.3). */
  private readonly session: ClientSession;
  /** Gets this instance's entries into the leader's log. */
  private readonly proposer: Proposer;
  /** Applies committed entries to the state machine. */
  private readonly applier: Applier<Op, Result>;
  /** Adding and removing members (thesis chapter 4). */
  private readonly membership: MembershipChanges;
  /** Whether this machine was a member of a configuration in force since it started: its removal is reported once. */
  private wasMember = false;
  private removalReported = false;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  /** Whether the node has loaded its state (start got that far): before, there is no state to report. */
  private loaded = false;
  /** The last role and leader reported, so events fire only on change. */
  private lastRole: Role = 'Follower';
  private lastLeader: NodeId | null = null;
  private stopping: Promise<void> | null = null;
  /** Why the node stopped on its own (a failed disk), if it did. */
  private failure: Error | null = null;

  constructor(options: GraftOptions<Op, Result>, knobs: TestKnobs = {}) {
    super();
    const config = validateOptions(options);
    this.options = options;
    this.config = config;
    this.id = String(options.machineId);
    // Embedded, a library keeps quiet: warnings and errors only, unless GRAFT_LOG_LEVEL asks for more.
    this.logger = options.logger ?? createLogger({ bindings: { node: this.id } });
    this.elections = new ElectionLog(this.logger);
    this.clock = knobs.clock ?? realClock;
    this.timers = new OwnedTimers(this.clock);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.operationDeadlines = new DeadlineQueue(this.clock, this.requestTimeoutMs, (operation) => this.operationTimedOut(operation));
    const rng = knobs.rng ?? seededRng(randomInt(2 ** 31));
    this.metrics = options.metricsRegistry ?? new Registry();
    this.meters = this.createMeters();
    this.storage = options.storage ?? defaultStorage(config, this.id, options.dataDir ?? config.dataDir, this.logger, this.meters.fsyncDuration);
    // The machines this one knows of: the configuration's, and its own address when it is outside it.
    const addressBook = new Map([...config.members, [this.id, ownAddress(config, this.id, options.address)]]);
    const transport =
      options.transport ??
      new WebSocketTransport({
        self: this.id,
        members: addressBook,
        logger: this.logger.child({ component: 'transport' }),
        ...(config.secret === null ? {} : { secret: config.secret }),
        ...(config.tls === null ? {} : { tls: { cert: config.tls.cert, key: config.tls.key, ca: config.tls.ca } }),
        ...(config.clusterId === null ? {} : { cluster: config.clusterId }),
        // A peer that comes back is called again within about an election timeout.
        backoff: { initialMs: Math.min(50, config.heartbeatInterval), maxMs: config.electionTimeout },
        ...(options.server === undefined ? {} : { server: options.server }),
        peerBytes: this.meters.peerBytes,
      });
    this.node = new RaftNode({
      id: this.id,
      // Should this node lead first, the cluster takes the id it proposes: the configured one, or a new one.
      configuration: bootstrapConfiguration(config, config.clusterId ?? randomUUID()),
      expectedCluster: config.clusterId,
      addressBook,
      electionTimeoutMs: config.electionTimeout,
      heartbeatIntervalMs: config.heartbeatInterval,
      storage: this.storage,
      transport,
      clock: this.clock,
      rng,
      logger: this.logger,
      ...(options.preVote === undefined ? {} : { preVote: options.preVote }),
      ...(options.checkQuorum === undefined ? {} : { checkQuorum: options.checkQuorum }),
      leaseReads: config.readMode === 'lease',
      // The applier is made below; the node calls it only once started.
      stateMachine: {
        canSnapshot: () => this.applier.canSnapshot(),
        capture: () => this.applier.capture(),
        restore: (data, index) => this.applier.restore(data, index),
      },
      snapshotPolicy: config.snapshot,
      maxUncommittedEntries: options.maxUncommittedEntries ?? 100_000,
      ...(knobs.sabotage === undefined || knobs.sabotage === 'apply-duplicates' ? {} : { sabotage: knobs.sabotage }),
      onApply: (entries) => this.applier.apply(entries),
      onSoftState: (s) => this.leadershipChanged(s.role, s.term, s.leader),
      onConfiguration: (configuration) => this.configurationChanged(configuration),
      onForwardMessage: (m) => this.proposer.handle(m),
      onFatal: (error) => this.fatal(error),
      observer: this.meters,
    });
    // The replicated record of every client session; identical on every node.
    const sessions = new SessionTable(SESSION_CAPACITY);
    this.proposer = new Proposer({
      id: this.id,
      node: this.node,
      clock: this.clock,
      sessions,
      retryMs: config.heartbeatInterval,
      // A forwarded request unanswered for two election timeouts is sent again (sessions make that safe).
      forwardTimeoutMs: Math.min(this.requestTimeoutMs, 2 * config.electionTimeout),
      forwardIdBase: rng.nextInt(2 ** 31) * 2 ** 20 + 1,
    });
    this.session = new ClientSession(
      (command, landing) => this.proposer.submit(command, landing),
      (index) => this.applier.termAt(index),
    );
    this.applier = new Applier({
      applicator: options.applicator,
      serializer: options.serializer,
      hooks: options.snapshot !== undefined && options.restore !== undefined ? { snapshot: options.snapshot, restore: options.restore } : null,
      sessions,
      session: this.session,
      leaderCopies: this.proposer.leaderCopies,
      report: (error) => this.reportError(error),
      onApplied: (index) => {
        this.emit('applied', index);
        this.noticeRemoval();
      },
      applyCopies: knobs.sabotage === 'apply-duplicates',
    });
    this.membership = new MembershipChanges({
      node: this.node,
      timers: this.timers,
      stepTimeoutMs: this.requestTimeoutMs,
      catchUpTimeoutMs: options.catchUpTimeoutMs ?? 60_000,
      pollMs: config.heartbeatInterval,
    });
  }

  /** Loads storage and joins the cluster. Resolves once this node listens for its peers. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new GraftError('NOT_STARTED', `start() called on a ${this.state} instance; create a new one`);
    this.state = 'starting';
    if (this.options.transport === undefined && this.config.secret === null) {
      this.logger.warn(
        this.config.tls === null
          ? "the peer protocol is open: with no cluster secret (secretFile in cluster.yaml, or GRAFT_CLUSTER_SECRET), anyone who can reach this node's port can speak to it as a member"
          : 'the peer protocol is open to every certificate of the cluster CA, clients included: with no cluster secret (secretFile in cluster.yaml, or GRAFT_CLUSTER_SECRET), any of them can speak to this node as a member',
      );
    }
    await this.node.start();
    this.loaded = true;
    this.state = 'running';
    this.session.open();
  }

  /**
   * Replicates `op` and resolves with this node's applicator result once it is applied here. The
   * operation is applied exactly once, however often it has to be sent again (a lost answer, a leader
   * change): it goes out under this instance's client session (thesis §6.3). Rejects with a
   * GraftError: TIMEOUT_OUTCOME_UNKNOWN after `requestTimeoutMs` (applied once or not at all, never
   * twice), SESSION_EXPIRED in the rare case the session was expired meanwhile, SHUTDOWN when the
   * instance stops, APPLY_FAILED when the applicator threw.
   */
  applyOperation(op: Op): Promise<Result> {
    if (this.state !== 'running') {
      const code = this.state === 'stopped' ? 'SHUTDOWN' : 'NOT_STARTED';
      return Promise.reject(new GraftError(code, `applyOperation on an instance that is ${this.state}`));
    }
    let data: string;
    try {
      data = this.options.serializer.toString(op);
    } catch (error) {
      return Promise.reject(new GraftError('INVALID_ARGUMENT', `the serializer cannot encode this operation: ${(error as Error).message}`, { cause: error }));
    }
    // JSON.stringify(undefined) is undefined, not an error: such an operation must not reach the log.
    if (typeof data !== 'string') {
      return Promise.reject(new GraftError('INVALID_ARGUMENT', `the serializer turned the operation into ${typeof data}, not text; nothing was sent`));
    }
    const overload = this.overload(data.length);
    if (overload !== null) return Promise.reject(overload);
    this.pendingOperations++;
    this.pendingBytes += data.length;
    const proposedAt = this.clock.now();
    return new Promise<Result>((resolve, reject) => {
      const operation = new WaitingOperation(this.operations, data.length, proposedAt, resolve as (value: unknown) => void, reject);
      this.operationDeadlines.add(operation, proposedAt);
      operation.seq = this.session.run(data, operation);
    });
  }

  /** No outcome within requestTimeoutMs: the caller is told so, and no more copies are sent. One already on its way may still be applied, once. */
  private operationTimedOut(operation: WaitingOperation): void {
    this.pendingOperations--;
    this.pendingBytes -= operation.size;
    this.session.abandon(operation.seq);
    operation.expired(
      new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `operation not answered within ${this.requestTimeoutMs} ms; it may be applied (once) or not at all`, {
        leader: this.node.softState().leader,
      }),
    );
  }

  /** Why one more operation of `size` characters may not wait now (OVERLOADED), or null: queues must not grow without bound. */
  private overload(size: number): GraftError | null {
    const maxOperations = this.options.maxPendingOperations ?? 10_000;
    const maxBytes = this.options.maxPendingBytes ?? 64 * 1024 * 1024;
    if (this.pendingOperations < maxOperations && (this.pendingOperations === 0 || this.pendingBytes + size <= maxBytes)) return null;
    return new GraftError(
      'OVERLOADED',
      `node ${this.id} has ${this.pendingOperations} operations (${this.pendingBytes} characters) waiting for their outcome, at most ${maxOperations} (${maxBytes}); try again once some are answered`,
      { leader: this.node.softState().leader },
    );
  }

  /**
   * Resolves once this node knows a leader, so that operations and reads can be served (an election
   * takes one or two election timeouts after the cluster starts). Rejects with SHUTDOWN if the
   * instance stops first, or TIMEOUT_OUTCOME_UNKNOWN after `timeoutMs` (default: requestTimeoutMs).
   */
  ready(timeoutMs = this.requestTimeoutMs): Promise<void> {
    if (this.state === 'running' && this.node.softState().leader !== null) return Promise.resolve();
    if (this.state === 'stopped') return Promise.reject(new GraftError('SHUTDOWN', `node ${this.id} stopped`));
    return new Promise((resolve, reject) => {
      const done = (outcome: () => void): void => {
        cancel();
        this.off('leader', onLeader);
        this.off('stopped', onStopped);
        outcome();
      };
      const onLeader = (leader: NodeId | null): void => {
        if (leader !== null) done(resolve);
      };
      const onStopped = (): void => done(() => reject(new GraftError('SHUTDOWN', `node ${this.id} stopped before a leader was known`)));
      const cancel = this.timers.after(timeoutMs, () =>
        done(() => reject(new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `no leader known within ${timeoutMs} ms`))),
      );
      this.on('leader', onLeader);
      this.on('stopped', onStopped);
    });
  }

  /** Whether `start()` finished and `stop()` has not been called. */
  isRunning(): boolean {
    return this.state === 'running';
  }

  /**
   * A linearizable read barrier (thesis §6.4, ReadIndex): resolves once this node's state machine
   * reflects every operation acknowledged, on any node, before the call, so a read of local state
   * that follows it is linearizable. It writes nothing to the log: the leader confirms it still leads
   * with one round of heartbeats. Rejects like `applyOperation` (TIMEOUT_OUTCOME_UNKNOWN, SHUTDOWN).
   */
  readBarrier(): Promise<void> {
    if (this.state !== 'running') {
      const code = this.state === 'stopped' ? 'SHUTDOWN' : 'NOT_STARTED';
      return Promise.reject(new GraftError(code, `readBarrier on an instance that is ${this.state}`));
    }
    return awaitReadBarrier({
      readIndex: () => this.node.read(),
      applied: (index) => this.applier.until(index),
      softState: () => this.node.softState(),
      timers: this.timers,
      timeoutMs: this.requestTimeoutMs,
      retryMs: this.config.heartbeatInterval,
      waiting: (fail) => {
        this.barriers.add(fail);
        return () => this.barriers.delete(fail);
      },
    });
  }

  /** This node's current view. */
  status(): GraftStatus {
    const soft = this.node.softState();
    const stopped = this.state === 'stopped';
    return {
      id: this.id,
      clusterId: this.node.clusterId(),
      role: stopped ? 'Stopped' : soft.role,
      term: soft.term,
      leader: stopped ? null : soft.leader,
      commitIndex: this.node.commitIndex(),
      appliedIndex: this.applier.appliedIndex(),
      ...this.node.logBounds(),
      members: this.state === 'new' ? [] : this.membership.members().map(({ id, address, role }) => ({ id, address, role })),
    };
  }

  /**
   * Takes a snapshot of this node's state machine now, at its applied index, and compacts the log
   * before it (Raft §7). Resolves with the index and term it covers once it is durable and the log it covers deleted. Rejects
   * SNAPSHOT_UNSUPPORTED without the `snapshot` and `restore` hooks.
   */
  async snapshot(): Promise<{ readonly index: number; readonly term: number }> {
    if (this.state !== 'running') {
      throw new GraftError(this.state === 'stopped' ? 'SHUTDOWN' : 'NOT_STARTED', `snapshot on an instance that is ${this.state}`);
    }
    const { index, term } = await this.node.snapshot();
    return { index, term };
  }

  /** The members of the configuration in force, with how far each holds the log (known on the leader only). */
  members(): MemberInfo[] {
    if (this.state === 'new') throw new GraftError('NOT_STARTED', 'members() before start(): the configuration is read from storage at start');
    return this.membership.members();
  }

  /**
   * Adds the machine `id`, listening at `address` (`host:port`), to the cluster (thesis chapter 4).
   * It joins as a learner, is sent the log or a snapshot until it holds everything committed, and is
   * then promoted to voter (unless `learner`), so adding a member never costs availability. Start the
   * machine with GraftOptions.address (or `graft start --join`) before or while this runs. Resolves
   * with the members once the change is committed; asked again for a member already added, resolves
   * at once. Call it on the leader: elsewhere it rejects NOT_LEADER (with the leader's id). Rejects
   * CHANGE_IN_PROGRESS while another change runs, INVALID_ARGUMENT for an impossible change (an id
   * or address in use), NOT_CAUGHT_UP when the machine did not catch up within catchUpTimeoutMs.
   */
  addMember(id: NodeId | number, address: string, options: { readonly learner?: boolean } = {}): Promise<MemberInfo[]> {
    const problem = this.changeProblem();
    if (problem !== null) return Promise.reject(problem);
    let formatted: string;
    try {
      formatted = formatAddress(parseAddress(address));
    } catch (error) {
      return Promise.reject(new GraftError('INVALID_ARGUMENT', `address: ${(error as Error).message}`));
    }
    if (String(id) === '') return Promise.reject(new GraftError('INVALID_ARGUMENT', 'the machine id is empty'));
    return this.membership.add(String(id), formatted, options.learner === true);
  }

  /**
   * Removes the member `id`, voter or learner, from the cluster (thesis chapter 4); resolves with the
   * members once the configuration without it is committed. Removing the leader itself is allowed: it
   * leads until then, hands leadership over and steps down (thesis §4.2.2). Rejects like `addMember`,
   * and INVALID_ARGUMENT for the last voter.
   */
  removeMember(id: NodeId | number): Promise<MemberInfo[]> {
    const problem = this.changeProblem();
    return problem === null ? this.membership.remove(String(id)) : Promise.reject(problem);
  }

  /**
   * Hands leadership to `id`, or to the most up-to-date follower (thesis §3.10). Resolves with the new
   * leader. While it runs, new operations wait; it gives up after an election timeout (rejecting
   * TRANSFER_ABORTED, this node still leading). Rejects NOT_LEADER on a node that does not lead.
   */
  transferLeadership(id?: NodeId): Promise<NodeId> {
    if (this.state !== 'running') return Promise.reject(new GraftError('NOT_STARTED', `transferLeadership on an instance that is ${this.state}`));
    const voters = this.node.voters();
    if (id !== undefined && !voters.includes(id)) {
      return Promise.reject(new GraftError('INVALID_ARGUMENT', `machine id "${id}" is not a voter (voters: ${voters.join(', ')})`));
    }
    const { role, leader } = this.node.softState();
    if (role !== 'Leader') return Promise.reject(new GraftError('NOT_LEADER', `node ${this.id} does not lead; ask the leader`, { leader }));
    if (id === this.id) return Promise.resolve(this.id);
    const target = this.node.transferLeadership(id ?? null);
    if (target === null) return Promise.reject(new GraftError('TRANSFER_ABORTED', 'there is no follower to hand leadership to'));
    return awaitHandover(
      {
        self: this.id,
        events: this,
        softState: () => this.node.softState(),
        transferTarget: () => this.node.transferTarget(),
        timers: this.timers,
        electionTimeoutMs: this.config.electionTimeout,
        heartbeatIntervalMs: this.config.heartbeatInterval,
        reachable: (peer) => this.node.reachable(peer),
      },
      target,
    );
  }

  /**
   * Leaves the cluster: a leader first hands leadership over, so a planned restart costs no election
   * timeout; then timers and connections stop, waiting callers are rejected with SHUTDOWN, and storage
   * closes. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'running' && this.node.softState().role === 'Leader' && this.node.voters().length > 1) {
      // When every follower is gone (the whole cluster stops at once), there is no one to hand over to.
      const followersGone = (): boolean => this.node.voters().every((id) => id === this.id || !this.node.reachable(id));
      if (followersGone()) this.logger.info({ handover: false }, 'stopping without a hand-over: no follower is connected');
      else {
        await this.transferLeadership().then(
          (leader) => this.logger.info({ handover: true, leader }, `handed leadership to ${leader} before stopping`),
          (error: Error) =>
            followersGone()
              ? this.logger.info({ handover: false, error: error.message }, `stopping without a hand-over: the followers went away (${error.message})`)
              : this.logger.warn({ handover: false, error: error.message }, `stopping without handing over leadership: ${error.message}`),
        );
      }
    }
    this.state = 'stopped';
    await this.node.stop();
    const error =
      this.failure === null
        ? new GraftError('SHUTDOWN', `node ${this.id} stopped`)
        : new GraftError('SHUTDOWN', `node ${this.id} stopped after a fatal error: ${this.failure.message}`, { cause: this.failure });
    this.rejectEverything(error);
    this.timers.cancelAll();
    this.operationDeadlines.stop();
    await this.storage.close().catch((closeError: Error) => this.logger.warn({ error: closeError.message }, `closing storage failed: ${closeError.message}`));
    this.emit('stopped', this.failure);
  }

  /** This instance's metrics in its registry, the gauges reading the node when scraped; CONFIG_INVALID when the registry has them already. */
  private createMeters(): GraftMetrics {
    try {
      return new GraftMetrics(this.metrics, {
        view: () => (this.loaded ? this.status() : null),
        peers: () => (this.loaded ? new Membership(this.node.configuration().configuration).allMembers().filter((id) => id !== this.id) : []),
        replication: () => {
          const matchIndexes = this.state === 'running' ? this.node.matchIndexes() : null;
          return matchIndexes === null ? null : { matchIndexes, lastIndex: this.node.lastIndex() };
        },
        connected: (peer) => this.state === 'running' && this.node.reachable(peer),
      });
    } catch (error) {
      throw new GraftError(
        'CONFIG_INVALID',
        `GraftInstance options: metricsRegistry: ${(error as Error).message} Each GraftInstance needs a registry of its own.`,
        { cause: error },
      );
    }
  }

  /** Why a membership change cannot be asked of this instance now, or null. */
  private changeProblem(): GraftError | null {
    if (this.state === 'running') return null;
    return new GraftError(this.state === 'stopped' ? 'SHUTDOWN' : 'NOT_STARTED', `membership change on an instance that is ${this.state}`);
  }

  private configurationChanged(configuration: Configuration): void {
    const { index } = this.node.configuration();
    const members = this.membership.members();
    if (new Membership(configuration).isMember(this.id)) this.wasMember = true;
    this.logger.info(
      { index, voters: configuration.voters, outgoing: configuration.outgoing, learners: configuration.learners },
      `configuration at index ${index}: ${describeMembers(configuration)}`,
    );
    this.emit('membership', members, index);
  }

  /** Once the configuration without this machine is committed, it was removed: said once, loudly. */
  private noticeRemoval(): void {
    if (!this.wasMember || this.removalReported) return;
    const { configuration, index } = this.node.configuration();
    if (new Membership(configuration).isMember(this.id) || index > this.node.commitIndex()) return;
    this.removalReported = true;
    this.logger.warn(
      { index, voters: configuration.voters, learners: configuration.learners },
      `this machine was removed from the cluster (configuration at index ${index}: ${describeMembers(configuration)}); it takes no further part`,
    );
    this.emit('removed', index);
  }

  private leadershipChanged(role: Role, term: number, leader: NodeId | null): void {
    this.meters.roleNoticed(role, term);
    this.elections.observe({ role, term, leader });
    if (role !== this.lastRole) {
      this.lastRole = role;
      this.emit('role', role, term);
    }
    if (leader !== this.lastLeader) {
      this.lastLeader = leader;
      this.emit('leader', leader, term);
      if (leader !== null) {
        this.proposer.leaderKnown();
        this.session.leaderChanged();
      }
    }
  }

  /**
   * The node cannot go on (its storage failed): it stops for real. It reports `Stopped` at once, so
   * nobody reads a stale role from it, fails everything that waits, and emits `stopped` with the
   * error, so an embedding process can exit and let its supervisor restart it.
   */
  private fatal(error: Error): void {
    if (this.state === 'stopped') return;
    this.failure = error;
    this.state = 'stopped';
    this.reportError(error);
    void this.stop();
  }

  /** An 'error' event with no listener would throw and take the process down; log it instead. */
  private reportError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.logger.error(error instanceof GraftError ? { code: error.code } : {}, error.message);
  }

  private rejectEverything(error: GraftError): void {
    this.proposer.close(error);
    this.session.rejectAll(error);
    this.applier.rejectAll(error);
    for (const fail of [...this.barriers]) fail(error);
    this.membership.rejectAll(error);
  }
}

/** `voters 1, 2, 3 (joint with 1, 2, 4); learners 5`, for the log. */
function describeMembers(c: Configuration): string {
  const joint = c.outgoing.length > 0 ? ` (joint with ${c.outgoing.join(', ')})` : '';
  const learners = c.learners.length > 0 ? `; learners ${c.learners.join(', ')}` : '';
  return `voters ${c.voters.join(', ')}${joint}${learners}`;
}
