import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { LogPosition, Sabotage } from './core/raft.ts';
import { seededRng } from './core/rng.ts';
import type { Entry, NodeId, Rng, Role } from './core/types.ts';
import { clusterConfigFromObject, formatAddress, isClusterConfig, validateMachineId, type ClusterConfig, type ClusterConfigObject } from './config.ts';
import { GraftError } from './errors.ts';
import { createLogger, type Logger } from './logger.ts';
import { AppliedWatch } from './runtime/applied-watch.ts';
import { realClock, type Cancel, type Clock } from './runtime/clock.ts';
import type { GraftEvents } from './runtime/events.ts';
import { Forwarder } from './runtime/forwarding.ts';
import { RaftNode } from './runtime/node.ts';
import type { Serializer } from './serializer.ts';
import { ClientSession } from './session/client-session.ts';
import { LeaderCopies } from './session/leader-copies.ts';
import { SessionApplier } from './session/session-applier.ts';
import { SESSION_CAPACITY, SessionTable, type Outcome } from './session/session-table.ts';
import { FileStorage } from './storage/file/file-storage.ts';
import { MemoryStorage } from './storage/memory.ts';
import type { Storage } from './storage/storage.ts';
import type { Transport } from './transport/transport.ts';
import { WebSocketTransport } from './transport/ws/ws-transport.ts';

/** How to build a GraftInstance. Only `config`, `machineId`, `applicator` and `serializer` are required. */
export interface GraftOptions<Op, Result> {
  /** The cluster: members, timeouts. From `loadClusterConfig(file)`, or a plain object as cluster.yaml would hold it. */
  readonly config: ClusterConfig | ClusterConfigObject;
  /** This node's id; must be a member of `config` (`1` and `'1'` name the same machine). */
  readonly machineId: string | number;
  /** Applies one committed operation to the state machine; called once per entry, in log order, on every node. Must be deterministic. */
  readonly applicator: (op: Op, position: LogPosition) => Result;
  /** Turns operations into text for the log and the wire, and back. */
  readonly serializer: Serializer<Op>;
  /**
   * Where the log and hard state live. Default: files under `<dataDir>/<machineId>` when a data
   * directory is given (here or in the config), else memory (lost when the process ends).
   */
  readonly storage?: Storage;
  /** The cluster's data directory; overrides `config.dataDir`. */
  readonly dataDir?: string;
  /** How messages reach peers. Default: WebSockets on this member's address. */
  readonly transport?: Transport;
  /** An HTTP server of yours to share: peers connect to its `/raft` path; you listen on it. */
  readonly server?: Server;
  /** How long `applyOperation` waits before rejecting with TIMEOUT_OUTCOME_UNKNOWN. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /** Where log lines go. Default: stderr, level from GRAFT_LOG_LEVEL (see `createLogger`). */
  readonly logger?: Logger;
  /** Pre-vote before elections, so a node coming back from a partition does not disrupt the leader (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** A leader that loses touch with a quorum steps down within an election timeout (thesis §6.2). Default true. */
  readonly checkQuorum?: boolean;
}

/**
 * What Graft's own tests set beside the options: time and chance, so a simulation replays from its
 * seed, and a deliberate bug, so a test can show its checks catch it. Not exported from the package's
 * entry: production code never needs it.
 */
export interface TestKnobs {
  /** Timers; a manual clock in simulations. */
  readonly clock?: Clock;
  /** Randomness for election timeouts; a seeded one makes runs repeatable. */
  readonly rng?: Rng;
  /** Breaks one protocol rule on purpose. */
  readonly sabotage?: Sabotage | 'apply-duplicates';
}

/** A snapshot of one node's view of the cluster. */
export interface GraftStatus {
  /** This node's machine id. */
  readonly id: NodeId;
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
  /** Every member of the configuration. */
  readonly members: readonly {
    /** The member's machine id. */
    readonly id: NodeId;
    /** Where it listens, `host:port`. */
    readonly address: string;
  }[];
}

/** An entry on its way to the leader's log. */
interface Request {
  readonly data: string;
  readonly resolve: (position: LogPosition) => void;
  readonly reject: (error: Error) => void;
}

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
  private readonly options: GraftOptions<Op, Result>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  private readonly storage: Storage;
  private readonly node: RaftNode;
  /** The replicated record of every client session; identical on every node. */
  private readonly sessions = new SessionTable(SESSION_CAPACITY);
  /** This instance's own session, through which all its operations go. */
  private readonly session: ClientSession;
  /** While leading: drops copies of operations already appended or applied. */
  private readonly leaderCopies: LeaderCopies;
  private readonly applier: SessionApplier;
  private readonly appliedWatch = new AppliedWatch();
  private readonly forwarder: Forwarder;
  /** Requests waiting for a leader to be known. */
  private parked: Request[] = [];
  private cancelRetry: Cancel | null = null;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
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
    this.logger = options.logger ?? createLogger(`node ${this.id}`);
    this.clock = knobs.clock ?? realClock;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    const rng = knobs.rng ?? seededRng(randomInt(2 ** 31));
    this.storage = options.storage ?? defaultStorage(config, this.id, options.dataDir ?? config.dataDir, this.logger);
    const transport =
      options.transport ??
      new WebSocketTransport({
        self: this.id,
        members: config.members,
        logger: this.logger.child('transport'),
        ...(options.server === undefined ? {} : { server: options.server }),
      });
    this.node = new RaftNode({
      id: this.id,
      voters: [...config.members.keys()],
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
      ...(knobs.sabotage === undefined || knobs.sabotage === 'apply-duplicates' ? {} : { sabotage: knobs.sabotage }),
      onApply: (entries) => this.apply(entries),
      onSoftState: (s) => this.leadershipChanged(s.role, s.term, s.leader),
      onForwardMessage: (m) => this.forwarder.handle(m),
      onFatal: (error) => this.fatal(error),
    });
    // A forwarded request unanswered for two election timeouts is sent again (sessions make that safe).
    const forwardTimeoutMs = Math.min(this.requestTimeoutMs, 2 * config.electionTimeout);
    this.leaderCopies = new LeaderCopies(
      this.sessions,
      (ops) => this.node.propose(ops),
      () => this.node.softState().term,
    );
    this.forwarder = new Forwarder(
      rng.nextInt(2 ** 31) * 2 ** 20 + 1,
      this.id,
      this.clock,
      forwardTimeoutMs,
      (to, m) => this.node.sendToPeer(to, m),
      (ops) => this.leaderCopies.propose(ops),
    );
    this.session = new ClientSession(
      (data) => new Promise((resolve, reject) => this.submit({ data, resolve, reject })),
      (index) => (index <= this.node.appliedIndex() ? this.node.termAt(index) : undefined),
    );
    this.applier = new SessionApplier({
      sessions: this.sessions,
      session: this.session,
      leaderCopies: this.leaderCopies,
      run: (op, entry) => this.runApplicator(op, entry),
      report: (error) => this.reportError(error),
      applyCopies: knobs.sabotage === 'apply-duplicates',
    });
  }

  /** Loads storage and joins the cluster. Resolves once this node listens for its peers. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new GraftError('NOT_STARTED', `start() called on a ${this.state} instance; create a new one`);
    this.state = 'starting';
    await this.node.start();
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
    const { seq, outcome } = this.session.run(data);
    return new Promise<Result>((resolve, reject) => {
      const cancel = this.clock.after(this.requestTimeoutMs, () => {
        // Abandoned: no more copies are sent. One already on its way may still be applied, once.
        this.session.abandon(seq);
        reject(
          new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `operation not answered within ${this.requestTimeoutMs} ms; it may be applied (once) or not at all`, {
            leader: this.node.softState().leader,
          }),
        );
      });
      outcome.then(
        (o) => {
          cancel();
          if (o.ok) resolve(o.value as Result);
          else reject(o.error);
        },
        (error: Error) => {
          cancel();
          reject(error);
        },
      );
    });
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
      const cancel = this.clock.after(timeoutMs, () => done(() => reject(new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `no leader known within ${timeoutMs} ms`))));
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
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const cancel = this.clock.after(this.requestTimeoutMs, () =>
        finish(() =>
          reject(
            new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `no leader confirmed a read within ${this.requestTimeoutMs} ms`, {
              leader: this.node.softState().leader,
            }),
          ),
        ),
      );
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        cancel();
        fn();
      };
      const attempt = (): void => {
        if (settled) return;
        this.node
          .read()
          .then((index) => this.appliedWatch.until(index, this.node.appliedIndex()))
          .then(
            () => finish(resolve),
            (error: unknown) => {
              // No leader could confirm it: a read has no effect, so trying again is always safe.
              if (error instanceof GraftError && (error.code === 'NOT_LEADER' || error.code === 'NO_LEADER')) {
                this.clock.after(this.config.heartbeatInterval, attempt);
              } else {
                finish(() => reject(error instanceof Error ? error : new Error(String(error))));
              }
            },
          );
      };
      attempt();
    });
  }

  /** This node's current view. */
  status(): GraftStatus {
    const soft = this.node.softState();
    const stopped = this.state === 'stopped';
    return {
      id: this.id,
      role: stopped ? 'Stopped' : soft.role,
      term: soft.term,
      leader: stopped ? null : soft.leader,
      commitIndex: this.node.commitIndex(),
      appliedIndex: this.node.appliedIndex(),
      members: [...this.config.members].map(([id, address]) => ({ id, address: formatAddress(address) })),
    };
  }

  /**
   * Hands leadership to `id`, or to the most up-to-date follower (thesis §3.10). Resolves with the new
   * leader. While it runs, new operations wait; it gives up after an election timeout (rejecting
   * TRANSFER_ABORTED, this node still leading). Rejects NOT_LEADER on a node that does not lead.
   */
  transferLeadership(id?: NodeId): Promise<NodeId> {
    if (this.state !== 'running') return Promise.reject(new GraftError('NOT_STARTED', `transferLeadership on an instance that is ${this.state}`));
    if (id !== undefined && !this.config.members.has(id)) {
      return Promise.reject(new GraftError('INVALID_ARGUMENT', `machine id "${id}" is not a member (members: ${[...this.config.members.keys()].join(', ')})`));
    }
    const { role, leader } = this.node.softState();
    if (role !== 'Leader') return Promise.reject(new GraftError('NOT_LEADER', `node ${this.id} does not lead; ask the leader`, { leader }));
    if (id === this.id) return Promise.resolve(this.id);
    const target = this.node.transferLeadership(id ?? null);
    if (target === null) return Promise.reject(new GraftError('TRANSFER_ABORTED', 'there is no follower to hand leadership to'));
    return new Promise((resolve, reject) => {
      const onLeader = (newLeader: NodeId | null): void => {
        if (newLeader === null || newLeader === this.id) return;
        done();
        resolve(newLeader);
      };
      const { electionTimeout, heartbeatInterval } = this.config;
      // The core gives up after an election timeout and takes proposals again: say so at once.
      const cancelCheck = this.clock.every(heartbeatInterval, () => {
        if (this.node.softState().role !== 'Leader' || this.node.transferTarget() !== null) return;
        done();
        reject(
          new GraftError(
            'TRANSFER_ABORTED',
            `node ${target} did not take over within an election timeout (${electionTimeout} ms); node ${this.id} still leads`,
            { leader: this.id },
          ),
        );
      });
      // This node stepped down, but no new leader has made itself known (the target may have failed mid-election).
      const cancelDeadline = this.clock.after(2 * electionTimeout, () => {
        done();
        reject(
          new GraftError('TRANSFER_ABORTED', `node ${this.id} stepped down, but no new leader was known within ${2 * electionTimeout} ms`, {
            leader: this.node.softState().leader,
          }),
        );
      });
      const done = (): void => {
        cancelCheck();
        cancelDeadline();
        this.off('leader', onLeader);
      };
      this.on('leader', onLeader);
    });
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
    if (this.state === 'running' && this.node.softState().role === 'Leader' && this.config.members.size > 1) {
      await this.transferLeadership().then(
        (leader) => this.logger.info(`handed leadership to ${leader} before stopping`),
        (error: Error) => this.logger.warn(`stopping without handing over leadership: ${error.message}`),
      );
    }
    this.state = 'stopped';
    this.cancelRetry?.();
    await this.node.stop();
    const error =
      this.failure === null
        ? new GraftError('SHUTDOWN', `node ${this.id} stopped`)
        : new GraftError('SHUTDOWN', `node ${this.id} stopped after a fatal error: ${this.failure.message}`, { cause: this.failure });
    this.rejectEverything(error);
    await this.storage.close().catch((closeError: Error) => this.logger.warn(`closing storage failed: ${closeError.message}`));
    this.emit('stopped', this.failure);
  }

  /** Sends an entry to where it can be appended: this node's log if it leads, else the leader's. */
  private submit(request: Request): void {
    if (this.state !== 'running') {
      request.reject(new GraftError('SHUTDOWN', `node ${this.id} stopped`));
      return;
    }
    const { leader } = this.node.softState();
    if (leader === null) {
      this.park(request);
      return;
    }
    const position: Promise<LogPosition | undefined> =
      leader === this.id ? this.leaderCopies.propose([request.data]).then((positions) => positions[0]) : this.forwarder.forward(leader, request.data);
    position.then(
      (p) => {
        if (p === undefined) request.reject(new GraftError('PROTOCOL', 'no position for a proposal'));
        else request.resolve(p);
      },
      (error: unknown) => {
        // NOT_LEADER and UNREACHABLE mean the entry was not appended anywhere: try the next leader.
        if (error instanceof GraftError && (error.code === 'NOT_LEADER' || error.code === 'UNREACHABLE')) this.park(request);
        else request.reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /** Holds a request until a leader is known; retried on every leader change and each heartbeat interval. */
  private park(request: Request): void {
    this.parked.push(request);
    this.cancelRetry ??= this.clock.every(this.config.heartbeatInterval, () => this.retryParked());
  }

  private retryParked(): void {
    if (this.node.softState().leader === null) return;
    const parked = this.parked;
    this.parked = [];
    this.cancelRetry?.();
    this.cancelRetry = null;
    for (const request of parked) this.submit(request);
  }

  private apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.kind === 'normal') this.applier.apply(entry);
      this.session.entryApplied(entry.index, entry.term);
    }
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      this.appliedWatch.applied(last.index);
      this.emit('applied', last.index);
    }
  }

  private runApplicator(op: string, entry: Entry): Outcome {
    try {
      return { ok: true, value: this.options.applicator(this.options.serializer.fromString(op), { index: entry.index, term: entry.term }) };
    } catch (thrown) {
      const cause = thrown instanceof Error ? thrown : new Error(String(thrown));
      const error = new GraftError('APPLY_FAILED', `the applicator threw at index ${entry.index}: ${cause.message}`, { cause });
      this.reportError(error);
      return { ok: false, error };
    }
  }

  private leadershipChanged(role: Role, term: number, leader: NodeId | null): void {
    if (role !== this.lastRole) {
      this.lastRole = role;
      this.logger.info(`became ${role}`, { term });
      this.emit('role', role, term);
    }
    if (leader !== this.lastLeader) {
      this.lastLeader = leader;
      this.emit('leader', leader, term);
      if (leader !== null) {
        this.retryParked();
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
    else this.logger.error(error.message);
  }

  private rejectEverything(error: GraftError): void {
    const parked = this.parked;
    this.parked = [];
    for (const request of parked) request.reject(error);
    this.forwarder.rejectAll(error);
    this.session.rejectAll(error);
    this.appliedWatch.rejectAll(error);
  }
}

/**
 * Checks what the compiler cannot (callers in JavaScript, or options built at run time) and returns
 * the validated configuration. Every mistake is a GraftError naming the option.
 */
function validateOptions<Op, Result>(options: GraftOptions<Op, Result>): ClusterConfig {
  const invalid = (message: string): never => {
    throw new GraftError('CONFIG_INVALID', `GraftInstance options: ${message}`);
  };
  if (typeof options !== 'object' || options === null) invalid('expected an object');
  if (typeof options.config !== 'object' || options.config === null) invalid('config is required: loadClusterConfig(file), or an object as cluster.yaml holds');
  const config = isClusterConfig(options.config) ? options.config : clusterConfigFromObject(options.config, 'GraftInstance options.config');
  if (typeof options.machineId !== 'string' && typeof options.machineId !== 'number')
    invalid(`machineId must be a string or a number, got ${typeof options.machineId}`);
  validateMachineId(config, String(options.machineId));
  if (typeof options.applicator !== 'function') invalid('applicator must be a function (op, position) => result');
  const serializer = options.serializer as Partial<Serializer<Op>> | undefined;
  if (typeof serializer?.toString !== 'function' || typeof serializer.fromString !== 'function' || serializer.toString === Object.prototype.toString) {
    invalid('serializer is required: superjsonSerializer(), jsonSerializer(), or an object with toString(op) and fromString(text)');
  }
  if (config.readMode === 'lease' && options.checkQuorum === false) {
    throw new GraftError('CONFIG_INVALID', 'readMode "lease" needs checkQuorum: without it, voters do not hold off elections while the leader is alive');
  }
  return config;
}

/** Files under `<dataDir>/<id>` when there is a data directory, memory otherwise. */
function defaultStorage(config: ClusterConfig, id: NodeId, dataDir: string | null, logger: Logger): Storage {
  if (dataDir === null) {
    logger.warn('no data directory: this node keeps its log in memory, and nothing survives a restart (set dataDir to keep it)');
    return new MemoryStorage();
  }
  return new FileStorage({
    dir: join(dataDir, id),
    identity: { machineId: id, members: [...config.members.keys()].sort() },
    logger: logger.child('storage'),
  });
}
