import { parseClusterConfig, type ClusterConfig } from '../../src/config.ts';
import { seededRng } from '../../src/core/rng.ts';
import type { NodeId, Rng, Role } from '../../src/core/types.ts';
import { silentLogger } from '../../src/logger.ts';
import { planTicks } from '../../src/runtime/ticks.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import type { ReceiveHandler } from '../../src/transport/transport.ts';
import { KVStore } from '../../src/cli/apps/kvstore/kv-store.ts';
import { checkKvHistory, type KvInput, type KvOutput, type Operation } from '../linearizability/checker.ts';
import { ManualClock } from './manual-clock.ts';
import { simulatedTransport } from './sim-transport.ts';
import { uniform } from './workload.ts';

export const ELECTION_TIMEOUT_MS = 100;
const HEARTBEAT_INTERVAL_MS = 30;
/** The election timeout the core really counts: a whole number of ticks (102 ms for 100 ms). */
export const EFFECTIVE_ELECTION_MS = ((plan) => plan.electionTicks * plan.tickMs)(planTicks(ELECTION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS));
const REQUEST_TIMEOUT_MS = 2000;
/** The client's own deadline, past the node's: a node that never answers still yields an unknown outcome. */
const CLIENT_DEADLINE_MS = REQUEST_TIMEOUT_MS + 100;

/** What the scripted clients issue: sets of values never used before, and linearizable gets. */
export type ScriptedInput = Extract<KvInput, { kind: 'set' | 'get' }>;

export interface ClusterOptions {
  readonly nodes: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
}

/** One client operation as the checker wants it, plus the node it was sent to. */
export interface ClientOp extends Operation<ScriptedInput, KvOutput> {
  readonly node: NodeId;
}

/** A role change as a node reported it, at simulated time. */
export interface RoleChange {
  readonly time: number;
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
}

interface SimNode {
  readonly store: KVStore;
  readonly kill: () => void;
  /** Where the simulation delivers this node's messages while it runs. */
  readonly link: { receive: ReceiveHandler | null };
}

/**
 * Real KVStore nodes (GraftInstance and its runtime) on a ManualClock, a scripted network and memory
 * storage, for scenarios that place faults at chosen moments rather than at random. Everything random
 * (election timeouts, delays, clients) is drawn from one seed, so a seed replays a run exactly.
 */
export class ScriptedCluster {
  readonly clock = new ManualClock();
  readonly ids: NodeId[];
  readonly history: ClientOp[] = [];
  readonly roleChanges: RoleChange[] = [];
  private readonly rng: Rng;
  private readonly config: ClusterConfig;
  private readonly nodes = new Map<NodeId, SimNode>();
  /** Links that are down, as `from>to`. */
  private readonly cut = new Set<string>();
  private clientsOn = false;
  private openOps = 0;
  private nextValue = 0;
  private nextClient = 0;

  private constructor(
    private readonly options: ClusterOptions,
    seed: number,
  ) {
    this.rng = seededRng(seed);
    this.ids = Array.from({ length: options.nodes }, (_, i) => String(i + 1));
    const members = this.ids.map((id) => `  ${id}: sim-${id}:1`).join('\n');
    this.config = parseClusterConfig(
      `electionTimeout: ${ELECTION_TIMEOUT_MS}\nheartbeatInterval: ${HEARTBEAT_INTERVAL_MS}\nconfiguration:\n${members}\n`,
      '<scripted>',
    );
  }

  /**
   * Boots a cluster for `seed`, runs `body` on it and stops every node's timers afterwards; a failure
   * is rethrown with the seed in front of its message, so it can be replayed.
   */
  static async run(options: ClusterOptions, seed: number, body: (cluster: ScriptedCluster) => Promise<void>): Promise<void> {
    const cluster = new ScriptedCluster(options, seed);
    try {
      for (const id of cluster.ids) await cluster.boot(id);
      await body(cluster);
    } catch (error) {
      if (error instanceof Error) error.message = `seed ${seed}: ${error.message}`;
      throw error;
    } finally {
      for (const node of cluster.nodes.values()) node.kill();
    }
  }

  store(id: NodeId): KVStore {
    return this.nodes.get(id)!.store;
  }

  term(id: NodeId): number {
    return this.store(id).graft.status().term;
  }

  terms(): Record<NodeId, number> {
    return Object.fromEntries(this.ids.map((id) => [id, this.term(id)]));
  }

  /** The node that believes it leads in the highest term, or null when none does. */
  leader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const id of this.ids) {
      const { role, term } = this.store(id).graft.status();
      if (role === 'Leader' && (best === null || term > best.term)) best = { id, term };
    }
    return best?.id ?? null;
  }

  /** Waits until one node leads and every node knows it; throws when that takes longer than `deadlineMs`. */
  async stableLeader(deadlineMs = 20 * ELECTION_TIMEOUT_MS): Promise<NodeId> {
    const agreed = (): boolean => {
      const leader = this.leader();
      return leader !== null && this.ids.every((id) => this.store(id).graft.status().leader === leader);
    };
    if (!(await this.waitFor(agreed, deadlineMs))) throw new Error(`no leader known to all nodes within ${deadlineMs} ms`);
    return this.leader()!;
  }

  /** Cuts every link to and from `id`. */
  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cutLink(id, other, 'both');
  }

  /** Cuts `from`'s messages to `to`, and the reverse too when `both`. Messages in flight on a cut link are dropped. */
  cutLink(from: NodeId, to: NodeId, direction: 'one-way' | 'both'): void {
    this.cut.add(`${from}>${to}`);
    if (direction === 'both') this.cut.add(`${to}>${from}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Runs the simulation for `ms` of simulated time. */
  async advance(ms: number): Promise<void> {
    await this.waitFor(() => false, ms);
  }

  /**
   * Runs the simulation until `done()` holds (checked after each event's work has settled) or `ms`
   * of simulated time have passed; returns whether `done()` held.
   */
  async waitFor(done: () => boolean, ms: number): Promise<boolean> {
    const end = this.clock.time + ms;
    for (;;) {
      await this.clock.settle();
      if (done()) return true;
      if (!(await this.clock.step(end))) {
        this.clock.time = end;
        return false;
      }
    }
  }

  /** Awaits `promise` while simulated time runs; throws when it has not settled within `ms`. */
  async awaitWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
    const box: { settled?: { ok: true; value: T } | { ok: false; error: unknown } } = {};
    promise.then(
      (value) => (box.settled = { ok: true, value }),
      (error: unknown) => (box.settled = { ok: false, error }),
    );
    if (!(await this.waitFor(() => box.settled !== undefined, ms))) throw new Error(`a promise did not settle within ${ms} ms of simulated time`);
    const settled = box.settled!;
    if (!settled.ok) throw settled.error;
    return settled.value;
  }

  /**
   * Starts `count` clients: each sends one operation at a time, a set of a value never used before
   * or a get, on one of `keys` keys, to a node `target()` picks (a random node by default).
   */
  startClients(count: number, keys: number, target: () => NodeId = () => this.pick(this.ids)): void {
    this.clientsOn = true;
    for (let c = 0; c < count; c++) {
      const client = this.nextClient++;
      this.clock.after(this.uniform(0, 20), () => void this.client(client, keys, target));
    }
  }

  /** Stops the clients and lets every open operation reach its answer or its deadline. */
  async stopClients(): Promise<void> {
    this.clientsOn = false;
    if (!(await this.waitFor(() => this.openOps === 0, 2 * CLIENT_DEADLINE_MS))) throw new Error('client operations still open after their deadline');
  }

  /** Performs one operation at `id` and records it in the history; resolves once it is answered or its deadline passed. */
  async perform(id: NodeId, input: ScriptedInput, client = this.nextClient++): Promise<ClientOp> {
    const call = this.clock.time;
    this.openOps++;
    const output = await this.outcome(this.store(id), input);
    this.openOps--;
    const op: ClientOp = { client, node: id, input, output, call, return: output === undefined ? Infinity : this.clock.time };
    this.history.push(op);
    return op;
  }

  /** Null when the client history is linearizable, else a description of the key that is not. */
  linearizabilityViolation(): string | null {
    const bad = checkKvHistory(this.history);
    if (bad === null) return null;
    const ops = this.history
      .filter((o) => o.input.key === bad)
      .sort((a, b) => a.call - b.call)
      .map(
        (o) =>
          `${o.call.toFixed(1)}..${o.return === Infinity ? '?' : o.return.toFixed(1)} c${o.client}@${o.node} ${JSON.stringify(o.input)} -> ${JSON.stringify(o.output)}`,
      );
    return `key ${bad} is not linearizable:\n${ops.join('\n')}`;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.rng.nextInt(items.length)]!;
  }

  private async boot(id: NodeId): Promise<void> {
    const view = this.clock.view();
    const link = { receive: null as ReceiveHandler | null };
    const transport = simulatedTransport(link, (to, messages) => this.deliver(id, to, messages));
    const store = new KVStore(
      {
        config: this.config,
        machineId: id,
        logger: silentLogger,
        transport,
        storage: new MemoryStorage(),
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        ...(this.options.preVote === undefined ? {} : { preVote: this.options.preVote }),
        ...(this.options.checkQuorum === undefined ? {} : { checkQuorum: this.options.checkQuorum }),
      },
      { clock: view, rng: seededRng(this.rng.nextInt(2 ** 31)) },
    );
    const node: SimNode = { store, kill: () => view.kill(), link };
    store.graft.on('role', (role, term) => this.roleChanges.push({ time: this.clock.time, id, role, term }));
    this.nodes.set(id, node);
    await store.graft.start();
  }

  /** False when the link is down, so the sender knows nothing left; a link cut while in flight drops the message. */
  private deliver(from: NodeId, to: NodeId, messages: readonly PeerMessage[]): boolean {
    if (this.cut.has(`${from}>${to}`)) return false;
    this.clock.after(this.uniform(0.5, 4), () => {
      const receive = this.nodes.get(to)?.link.receive;
      if (receive && !this.cut.has(`${from}>${to}`)) for (const m of messages) receive(m);
    });
    return true;
  }

  private async client(client: number, keys: number, target: () => NodeId): Promise<void> {
    while (this.clientsOn) {
      const key = `k${this.rng.nextInt(keys)}`;
      const input: ScriptedInput = this.rng.nextInt(2) === 0 ? { kind: 'set', key, value: this.nextValue++ } : { kind: 'get', key };
      await this.perform(target(), input, client);
      await new Promise<void>((resolve) => this.clock.after(this.uniform(1, 20), resolve));
    }
  }

  /** What the store answered; undefined when the outcome is unknown (any error: the checker then allows both). */
  private outcome(store: KVStore, input: ScriptedInput): Promise<KvOutput | undefined> {
    const call = async (): Promise<KvOutput> => {
      switch (input.kind) {
        case 'set':
          await store.set(input.key, input.value);
          return { done: true };
        case 'get':
          return { value: (await store.get(input.key)).value };
      }
    };
    return new Promise((resolve) => {
      this.clock.after(CLIENT_DEADLINE_MS, () => resolve(undefined));
      call().then(resolve, () => resolve(undefined));
    });
  }

  private uniform(lo: number, hi: number): number {
    return uniform(this.rng, lo, hi);
  }
}
