import { parseClusterConfig, type ClusterConfig } from '../../src/config.ts';
import type { Sabotage } from '../../src/core/raft.ts';
import { seededRng } from '../../src/core/rng.ts';
import type { NodeId, Rng, Role } from '../../src/core/types.ts';
import { silentLogger } from '../../src/logger.ts';
import type { TestKnobs } from '../../src/graft.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import type { WalSabotage } from '../../src/storage/file/wal.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import type { ReceiveHandler } from '../../src/transport/transport.ts';
import { KVStore, type KVStoreOptions } from '../../src/cli/apps/kvstore/kv-store.ts';
import type { KVOperation, KVResult } from '../../src/cli/apps/kvstore/operations.ts';
import { checkKvHistory, type KvInput, type KvOutput, type Operation } from '../linearizability/checker.ts';
import { DurabilityWatch } from './durability-watch.ts';
import { hostileMessage, throughCodec } from './hostile-messages.ts';
import { ManualClock } from './manual-clock.ts';
import { SimFiles } from './sim-files.ts';
import { SimSnapshots } from './sim-snapshots.ts';
import { simulatedTransport } from './sim-transport.ts';
import { SafetyViolation } from './safety.ts';
import { SimulationFailure, type FaultProfile } from './simulation.ts';
import { chance, randomKvInput, uniform } from './workload.ts';

/** A scenario for the runtime simulation (pauses are left to the core-level simulation). */
export interface RuntimeScenario {
  readonly name: string;
  readonly nodes: number;
  readonly faults: Omit<FaultProfile, 'pauseEvery' | 'pauseLength'> & {
    /** Mean time between disk faults (a disk that fills up, a write or sync that fails with EIO or ENOSPC); 0 or absent: none. */
    readonly diskFaultEvery?: number;
    /** Mean time between pauses of a process (SIGSTOP, a long GC), how long each lasts, and whether the leader is the one paused. */
    readonly pauseEvery?: number;
    readonly pauseLength?: readonly [number, number];
    readonly pauseLeader?: boolean;
  };
  readonly faultMs: number;
  readonly livenessMs: number;
  readonly clients: number;
  readonly keys: number;
  /** Core extensions (default on, as in production). */
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly readMode?: 'read-index' | 'lease';
  /** Take a snapshot every this many entries (tiny, so compaction and InstallSnapshot happen constantly); absent: the default policy. */
  readonly snapshotEntries?: number;
  readonly sabotage?: Sabotage | 'apply-duplicates' | WalSabotage;
}

/** One running incarnation of a node: its store, its clock, and how the world reaches it. */
interface SimProcess {
  store: KVStore;
  readonly view: ReturnType<ManualClock['view']>;
  alive: boolean;
  receive: ReceiveHandler | null;
  /** While paused: what reached the process meanwhile (messages, finished disk writes), in order. */
  inbox: (() => void)[] | null;
}

/** One simulated machine's disk, kept across restarts of its node; and what the node acknowledged on it. */
interface Machine {
  readonly files: SimFiles;
  /** The machine's snapshots: kept across restarts, lost with its data directory. */
  readonly snapshots: SimSnapshots;
  readonly watch: DurabilityWatch;
  /** A disk fault was injected and the node has not stopped for it yet. */
  faulted: boolean;
}

/**
 * The kvstore example, watched: every write in the simulation carries a value no other write has, so
 * a value applied twice by one state machine is an operation applied twice (thesis §6.3's violation).
 */
class WatchedKVStore extends KVStore {
  private readonly applications = new Set<unknown>();

  constructor(
    options: KVStoreOptions,
    knobs: TestKnobs,
    private readonly appliedTwice: (description: string) => void,
  ) {
    super(options, knobs);
  }

  protected override apply(op: KVOperation, index: number): KVResult {
    if (op.kind === 'set' || op.kind === 'cas') {
      if (this.applications.has(op.value)) this.appliedTwice(`${JSON.stringify(op)} applied a second time, at index ${index}`);
      this.applications.add(op.value);
    }
    return super.apply(op, index);
  }
}

const CLIENT_TIMEOUT_MS = 2000;

/**
 * Runs real KVStore nodes (GraftInstance, its runtime, forwarding and apply waiters) on simulated
 * time, network and disks, all drawn from one seed; clients use the store's public methods.
 * Checks election safety as it happens, and at the end that the nodes converged to one state and
 * that the clients' history is linearizable. Throws SimulationFailure.
 */
export async function runRuntimeSimulation(
  scenario: RuntimeScenario,
  seed: number,
): Promise<{ acknowledged: number; unknown: number; trace: readonly string[] }> {
  const sim = new RuntimeSimulation(scenario, seed);
  try {
    return await sim.run();
  } catch (error) {
    throw new SimulationFailure(scenario.name, seed, error as Error, sim.trace);
  } finally {
    sim.shutdown();
  }
}

class RuntimeSimulation {
  readonly trace: string[] = [];
  private readonly rng: Rng;
  private readonly clock = new ManualClock();
  private readonly config: ClusterConfig;
  private readonly ids: NodeId[];
  private readonly machines = new Map<NodeId, Machine>();
  /** A node restarted on a lost data directory, until it has applied what the others held then. */
  private recovering: { id: NodeId; upTo: number } | null = null;
  private readonly stores = new Map<NodeId, SimProcess>();
  private readonly cut = new Set<string>();
  private faultsOn = true;
  private clientsOn = true;
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly history: Operation<KvInput, KvOutput>[] = [];
  /** Operations invoked and not yet answered, described for a failure report. */
  private readonly openOps = new Set<string>();
  private violation: SafetyViolation | null = null;
  private counter = 0;

  constructor(
    private readonly scenario: RuntimeScenario,
    readonly seed: number,
  ) {
    this.rng = seededRng(seed);
    this.ids = Array.from({ length: scenario.nodes }, (_, i) => String(i + 1));
    const members = this.ids.map((id) => `  ${id}: sim-${id}:1`).join('\n');
    const readMode = scenario.readMode ?? 'read-index';
    const snapshot = scenario.snapshotEntries === undefined ? '' : `snapshot: { entries: ${scenario.snapshotEntries} }\n`;
    this.config = parseClusterConfig(
      `electionTimeout: 100\nheartbeatInterval: 30\nreadMode: ${readMode}\n${snapshot}configuration:\n${members}\n`,
      `<${scenario.name}>`,
    );
    for (const id of this.ids) {
      const files = new SimFiles({
        after: (ms, fn) => this.clock.after(ms, () => this.whenRunning(id, fn)),
        latency: () => this.uniform(...scenario.faults.diskLatency),
        alive: () => this.stores.get(id)?.alive === true,
        rng: this.rng,
      });
      const snapshots = new SimSnapshots({
        after: (ms, fn) => this.clock.after(ms, () => this.whenRunning(id, fn)),
        latency: () => this.uniform(...scenario.faults.diskLatency),
      });
      this.machines.set(id, { files, snapshots, watch: new DurabilityWatch(id, (v) => (this.violation ??= v)), faulted: false });
    }
  }

  async run(): Promise<{ acknowledged: number; unknown: number; trace: readonly string[] }> {
    // Storage answers on simulated time, so nodes start while the clock runs.
    for (const id of this.ids) this.boot(id);
    for (let c = 0; c < this.scenario.clients; c++) this.clock.after(this.uniform(0, 50), () => void this.client(c));
    this.scheduleCrashes();
    this.schedulePartitions();
    this.scheduleOutsideFaults();
    const { faultMs, livenessMs } = this.scenario;
    this.clock.after(faultMs, () => this.endFaults());
    this.clock.after(faultMs + livenessMs / 2, () => (this.clientsOn = false));
    while (await this.clock.step(faultMs + livenessMs)) {
      if (this.violation !== null) throw this.violation;
    }
    // Operations invoked near the end still get their answer or their deadline (drift can stretch it).
    const grace = faultMs + livenessMs + 2 * CLIENT_TIMEOUT_MS;
    while (this.openOps.size > 0 && (await this.clock.step(grace))) {
      if (this.violation !== null) throw this.violation;
    }
    await this.clock.settle();
    for (const [id, node] of this.stores) {
      const { appliedIndex, firstIndex, snapshotIndex } = node.store.graft.status();
      this.trace.push(`end: ${id} applied ${appliedIndex}, log from ${firstIndex}, snapshot ${snapshotIndex}`);
    }
    this.checkConverged();
    const bad = checkKvHistory(this.history);
    if (bad !== null) {
      for (const op of this.history.filter((o) => o.input.key === bad).sort((a, b) => a.call - b.call)) {
        this.trace.push(
          `${op.call.toFixed(1)}..${op.return === Infinity ? 'unknown' : op.return.toFixed(1)} client ${op.client} ${JSON.stringify(op.input)} -> ${JSON.stringify(op.output)}`,
        );
      }
      throw new SafetyViolation('linearizability', `the history of key ${bad} is not linearizable`);
    }
    return {
      acknowledged: this.history.filter((o) => o.return !== Infinity).length,
      unknown: this.history.filter((o) => o.return === Infinity).length,
      trace: this.trace,
    };
  }

  /** Stops every instance's timers, so nothing of this run outlives it. */
  shutdown(): void {
    for (const node of this.stores.values()) node.view.kill();
  }

  /** Starts `id` on its machine's disk; a node that cannot start on what its disk holds is a finding. */
  private boot(id: NodeId): void {
    this.startNode(id).catch((error: Error) => {
      if (!this.machines.get(id)!.faulted) {
        this.violation ??= new SafetyViolation('recovery', `node ${id} could not start on its own disk: ${error.message}`);
        return;
      }
      // A disk fault struck while it started (a start may write, e.g. to empty a log a snapshot replaced): it stops, to be restarted.
      this.trace.push(`${this.clock.time.toFixed(1)} ${id} fails to start: ${error.message}`);
      this.crash(id);
      this.clock.after(this.uniform(...this.scenario.faults.downtime), () => this.restart(id));
    });
  }

  private async startNode(id: NodeId): Promise<void> {
    const machine = this.machines.get(id)!;
    const rate = 1 + this.uniform(-1, 1) * this.scenario.faults.drift;
    const view = this.clock.view(rate);
    const node: SimProcess = { store: undefined as unknown as KVStore, view, alive: true, receive: null, inbox: null };
    const transport = simulatedTransport(node, (to, messages) => this.deliver(id, to, messages));
    node.store = new WatchedKVStore(
      {
        config: this.config,
        machineId: id,
        logger: silentLogger,
        transport,
        storage: machine.watch.wrap(
          new FileStorage(
            {
              dir: `/sim/${id}`,
              identity: { machineId: id, members: this.ids },
              files: machine.files,
              snapshots: machine.snapshots,
              claimDir: async () => async () => {},
              segmentBytes: 16 * 1024,
            },
            this.scenario.sabotage === 'ignore-short-write' ? { sabotage: this.scenario.sabotage } : {},
          ),
        ),
        requestTimeoutMs: CLIENT_TIMEOUT_MS,
        ...(this.scenario.preVote === undefined ? {} : { preVote: this.scenario.preVote }),
        ...(this.scenario.checkQuorum === undefined ? {} : { checkQuorum: this.scenario.checkQuorum }),
      },
      {
        clock: view,
        rng: seededRng(this.rng.nextInt(2 ** 31)),
        ...(this.scenario.sabotage === undefined || this.scenario.sabotage === 'ignore-short-write' ? {} : { sabotage: this.scenario.sabotage }),
      },
      (description) => {
        this.violation ??= new SafetyViolation('exactly-once', `node ${id}: ${description}`);
      },
    );
    node.store.graft.on('role', (role: Role, term: number) => {
      if (role !== 'Leader') return;
      this.trace.push(`${this.clock.time.toFixed(1)} ${id} leads term ${term}`);
      const other = this.leaderOfTerm.get(term);
      // Recorded, not thrown: a throw here would surface inside the node's own loop.
      if (other !== undefined && other !== id) this.violation ??= new SafetyViolation('election safety', `both ${other} and ${id} led term ${term}`);
      this.leaderOfTerm.set(term, id);
    });
    node.store.graft.on('stopped', (error) => {
      if (error === null || !node.alive) return;
      // Fail-stop: only a fault of its own disk may stop a node, never a peer's message.
      if (!machine.faulted) this.violation ??= new SafetyViolation('fail-stop', `node ${id} stopped with no disk fault injected: ${error.message}`);
      this.trace.push(`${this.clock.time.toFixed(1)} ${id} stops: ${error.message}`);
      this.crash(id);
      this.clock.after(this.uniform(...this.scenario.faults.downtime), () => this.restart(id));
    });
    this.stores.set(id, node);
    await node.store.graft.start();
  }

  private crash(id: NodeId): void {
    const node = this.stores.get(id)!;
    node.alive = false;
    node.receive = null;
    node.view.kill();
    node.inbox = null;
    this.machines.get(id)!.files.crash();
    this.machines.get(id)!.snapshots.crash();
    this.trace.push(`${this.clock.time.toFixed(1)} ${id} crashes`);
  }

  /** Disk faults, lost data directories and hostile frames, each at its own mean interval. */
  private scheduleOutsideFaults(): void {
    const { diskFaultEvery = 0, wipeEvery = 0, hostileEvery = 0 } = this.scenario.faults;
    this.recurring(diskFaultEvery, () => this.diskFault());
    this.recurring(wipeEvery, () => this.wipe());
    this.recurring(hostileEvery, () => this.hostileFrame());
    this.recurring(this.scenario.faults.pauseEvery ?? 0, () => this.pause());
  }

  private recurring(mean: number, fault: () => void): void {
    if (mean <= 0) return;
    const next = (): void =>
      this.clock.after(this.uniform(0, 2 * mean), () => {
        if (!this.faultsOn) return;
        fault();
        next();
      });
    next();
  }

  /** The disk of a live node fills up (its next writes come up short, then fail), or a write or sync fails. */
  private diskFault(): void {
    const id = this.pickUp((m) => !m.faulted);
    if (id === undefined) return;
    const machine = this.machines.get(id)!;
    machine.faulted = true;
    const kind = this.rng.nextInt(4);
    if (kind === 0) machine.files.setCapacity(machine.files.used() + this.rng.nextInt(4096));
    else if (kind === 1) machine.files.failNext('write', 'EIO');
    else if (kind === 2) machine.files.failNext('datasync', 'EIO');
    else machine.files.failNext('write', 'ENOSPC');
    this.trace.push(`${this.clock.time.toFixed(1)} ${id}'s disk ${['fills up', 'fails a write (EIO)', 'fails a sync (EIO)', 'fails a write (ENOSPC)'][kind]}`);
  }

  /**
   * A node's data directory is lost and it restarts empty. One at a time, and only while every other
   * node holds its data: until the node holds what the others held when it lost its own, a second
   * loss could take the last copy of a committed entry, and a majority of nodes holding back
   * (RejoinGuard) cannot elect anyone, by design.
   */
  private wipe(): void {
    if (this.recovering !== null) {
      const { id, upTo } = this.recovering;
      const node = this.stores.get(id)!;
      if (!node.alive || !node.store.graft.isRunning() || node.store.graft.status().appliedIndex < upTo) return;
      this.recovering = null;
    }
    if (this.ids.some((other) => this.machines.get(other)!.watch.holdsBack())) return;
    const id = this.pickUp(() => true);
    if (id === undefined) return;
    const upTo = Math.max(...this.ids.map((other) => this.machines.get(other)!.watch.lastIndex()));
    this.crash(id);
    const machine = this.machines.get(id)!;
    machine.files.wipe();
    machine.snapshots.wipe();
    machine.watch.forget();
    this.recovering = { id, upTo };
    this.trace.push(`${this.clock.time.toFixed(1)} ${id} loses its data directory`);
    this.clock.after(this.uniform(...this.scenario.faults.downtime), () => this.restart(id));
  }

  /** A frame a correct peer never sends, through the codec, as the transport would hand it over. */
  private hostileFrame(): void {
    const id = this.pickUp(() => true);
    const receive = id === undefined ? null : this.stores.get(id)!.receive;
    if (id === undefined || receive === null) return;
    const others = this.ids.filter((other) => other !== id);
    const message = hostileMessage(this.rng, others[this.rng.nextInt(others.length)]!, { id, term: this.stores.get(id)!.store.graft.status().term });
    const delivered = throughCodec([message]);
    this.trace.push(`${this.clock.time.toFixed(1)} hostile ${message.type} to ${id}: ${delivered.length === 0 ? 'refused by the codec' : 'delivered'}`);
    for (const m of delivered) this.whenRunning(id, () => receive(m));
  }

  /** Runs `fn` in the process of `id` now, or when it resumes if it is paused. */
  private whenRunning(id: NodeId, fn: () => void): void {
    const inbox = this.stores.get(id)?.inbox;
    if (inbox === null || inbox === undefined) fn();
    else inbox.push(fn);
  }

  /**
   * Stops a process for a while, as SIGSTOP, a long GC or a suspended VM would: its time goes on,
   * nothing of it runs. On resume its timers run first, then what reached it meanwhile, as in
   * Node's event loop (timers before I/O).
   */
  private pause(): void {
    const leader = this.ids.find(
      (id) =>
        this.stores.get(id)?.alive === true && this.stores.get(id)!.store.graft.isRunning() && this.stores.get(id)!.store.graft.status().role === 'Leader',
    );
    const id = this.scenario.faults.pauseLeader === true ? leader : this.pickUp(() => true);
    const node = id === undefined ? undefined : this.stores.get(id)!;
    if (id === undefined || node === undefined || node.inbox !== null) return;
    node.inbox = [];
    node.view.pause();
    this.trace.push(`${this.clock.time.toFixed(1)} ${id} pauses`);
    this.clock.after(this.uniform(...(this.scenario.faults.pauseLength ?? [0, 0])), () => this.resume(node));
  }

  private resume(node: SimProcess): void {
    const inbox = node.inbox;
    if (inbox === null) return;
    this.trace.push(`${this.clock.time.toFixed(1)} ${node.store.graft.id} resumes`);
    node.inbox = null;
    node.view.resume();
    for (const fn of inbox) fn();
  }

  /** A random live node whose machine passes `filter`. */
  private pickUp(filter: (machine: Machine) => boolean): NodeId | undefined {
    const candidates = this.ids.filter((id) => this.stores.get(id)?.alive === true && filter(this.machines.get(id)!));
    return candidates[this.rng.nextInt(candidates.length)];
  }

  /** False when the link is down (the sender learns nothing left); loss in flight still counts as sent. */
  private deliver(from: NodeId, to: NodeId, messages: readonly PeerMessage[]): boolean {
    const target = this.stores.get(to);
    if (target === undefined || !target.alive || this.cut.has(`${from}>${to}`)) return false;
    const { loss, duplicate, delay } = this.scenario.faults;
    const copies = this.faultsOn && this.chance(duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      if (this.faultsOn && this.chance(loss)) continue;
      this.clock.after(this.uniform(...delay), () => {
        const receive = this.stores.get(to)?.receive;
        if (receive && !this.cut.has(`${from}>${to}`)) this.whenRunning(to, () => messages.forEach((m) => receive(m)));
      });
    }
    return true;
  }

  /** A client: one operation at a time, against a random node, through the store's public methods. */
  private async client(client: number): Promise<void> {
    while (this.clientsOn) {
      const input = randomKvInput(this.rng, this.scenario.keys, this.counter++);
      const id = this.ids[this.rng.nextInt(this.ids.length)]!;
      const node = this.stores.get(id)!;
      const call = this.clock.time;
      const description = `client ${client} ${JSON.stringify(input)} at node ${id} since ${call.toFixed(1)}`;
      this.openOps.add(description);
      const output = node.alive ? await this.perform(node, input) : 'refused';
      this.openOps.delete(description);
      if (output !== 'refused') {
        this.history.push({ client, input, output, call, return: output === undefined ? Infinity : this.clock.time });
      }
      await new Promise<void>((resolve) => this.clock.after(this.uniform(1, 20), resolve));
    }
  }

  /** The observed output; undefined when unknown; 'refused' when nothing was tried. */
  private perform(node: { store: KVStore; alive: boolean }, input: KvInput): Promise<KvOutput | undefined | 'refused'> {
    const { store } = node;
    const call = async (): Promise<KvOutput> => {
      switch (input.kind) {
        case 'set':
          await store.set(input.key, input.value);
          return { done: true };
        case 'delete':
          await store.delete(input.key);
          return { done: true };
        case 'get':
          return { value: (await store.get(input.key)).value };
        case 'cas':
          return { ok: await store.compareAndSet(input.key, input.expected, input.value) };
      }
    };
    return new Promise((resolve) => {
      // The caller's own deadline: a crashed node never answers, as a dead process's socket would not.
      this.clock.after(CLIENT_TIMEOUT_MS + 100, () => resolve(undefined));
      call().then(resolve, () => resolve(undefined));
    });
  }

  private scheduleCrashes(): void {
    const { crashEvery, downtime } = this.scenario.faults;
    if (crashEvery <= 0) return;
    const next = (): void =>
      this.clock.after(this.uniform(0, 2 * crashEvery), () => {
        if (!this.faultsOn) return;
        const up = this.ids.filter((id) => this.stores.get(id)!.alive);
        const victim = up[this.rng.nextInt(up.length)];
        if (victim !== undefined) {
          this.crash(victim);
          this.clock.after(this.uniform(...downtime), () => this.restart(victim));
        }
        next();
      });
    next();
  }

  /** Restarts a node that is down; a disk that failed it has been given room and works again. */
  private restart(id: NodeId): void {
    if (this.stores.get(id)!.alive) return;
    const machine = this.machines.get(id)!;
    if (machine.faulted) {
      machine.faulted = false;
      machine.files.heal();
    }
    this.trace.push(`${this.clock.time.toFixed(1)} ${id} restarts`);
    this.boot(id);
  }

  private schedulePartitions(): void {
    const { partitionEvery, partitionLength } = this.scenario.faults;
    if (partitionEvery <= 0) return;
    const next = (): void =>
      this.clock.after(this.uniform(0, 2 * partitionEvery), () => {
        if (!this.faultsOn) return;
        const side = new Set(this.ids.filter(() => this.chance(0.5)));
        const links = this.ids.flatMap((a) => this.ids.filter((b) => side.has(a) !== side.has(b)).map((b) => `${a}>${b}`));
        for (const l of links) this.cut.add(l);
        this.clock.after(this.uniform(...partitionLength), () => links.forEach((l) => this.cut.delete(l)));
        next();
      });
    next();
  }

  private endFaults(): void {
    this.faultsOn = false;
    this.cut.clear();
    for (const machine of this.machines.values()) machine.files.heal();
    for (const node of this.stores.values()) this.resume(node);
    for (const id of this.ids) if (!this.stores.get(id)!.alive) this.restart(id);
  }

  /** After the quiet phase: one leader; every node applied all that is committed; all stores are equal. */
  private checkConverged(): void {
    const statuses = this.ids.map((id) => this.stores.get(id)!.store.graft.status());
    const leaders = statuses.filter((s) => s.role === 'Leader');
    if (leaders.length !== 1) throw new SafetyViolation('liveness', `${leaders.length} leaders after the faults ended`);
    const commit = leaders[0]!.commitIndex;
    for (const s of statuses) {
      if (s.appliedIndex !== commit) throw new SafetyViolation('liveness', `node ${s.id} applied ${s.appliedIndex} of ${commit} after the faults ended`);
    }
    if (this.openOps.size > 0) throw new SafetyViolation('liveness', `client operations still open at the end: ${[...this.openOps].join('; ')}`);
    const reference = JSON.stringify([...this.stores.get('1')!.store.localSnapshot()].sort());
    for (const id of this.ids) {
      const state = JSON.stringify([...this.stores.get(id)!.store.localSnapshot()].sort());
      if (state !== reference) throw new SafetyViolation('state machine safety', `node ${id}'s store differs from node 1's after applying the same log`);
    }
  }

  private uniform(lo: number, hi: number): number {
    return uniform(this.rng, lo, hi);
  }

  private chance(p: number): boolean {
    return chance(this.rng, p);
  }
}
