import type { ConfigChange } from '../../src/core/configuration-change.ts';
import type { Message } from '../../src/core/messages.ts';
import type { Sabotage } from '../../src/core/raft.ts';
import { seededRng } from '../../src/core/rng.ts';
import type { Entry, NodeId, Rng } from '../../src/core/types.ts';
import { checkKvHistory, type KvInput, type KvOutput, type Operation } from '../linearizability/checker.ts';
import { EventQueue } from './event-queue.ts';
import { hostileMessage, throughCodec } from './hostile-messages.ts';
import { SafetyChecker, SafetyViolation } from './safety.ts';
import { SimNode, type ClientCommand, type SimWorld } from './sim-node.ts';
import { chance, randomKvInput, uniform } from './workload.ts';

/** How hostile the world is. Times in ms of simulated time; a tick is 10 ms (election timeout 100-200 ms). */
export interface FaultProfile {
  readonly loss: number;
  readonly duplicate: number;
  readonly delay: readonly [number, number];
  /** Mean time between partitions (0: none), and how long each lasts. */
  readonly partitionEvery: number;
  readonly partitionLength: readonly [number, number];
  readonly crashEvery: number;
  readonly downtime: readonly [number, number];
  readonly pauseEvery: number;
  readonly pauseLength: readonly [number, number];
  /** Each node's clock runs at 1 +- drift of the nominal rate. */
  readonly drift: number;
  readonly diskLatency: readonly [number, number];
  /** Mean time between a node losing its data directory and restarting empty (0 or absent: never). */
  readonly wipeEvery?: number;
  /** Mean time between hostile messages: numbers beyond what a node holds, claims beyond its log (0 or absent: none). */
  readonly hostileEvery?: number;
}

export interface Scenario {
  readonly name: string;
  readonly nodes: number;
  readonly faults: FaultProfile;
  /** Faults happen for this long; then everything heals and the cluster must converge. */
  readonly faultMs: number;
  readonly livenessMs: number;
  readonly clients: number;
  readonly keys: number;
  /** Caps each append at this many entries (default: the core's). */
  readonly maxEntriesPerMessage?: number;
  /** Switch the core's extensions off, e.g. to replay a seed found before they existed (default: on). */
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Mean time between leadership transfers the current leader is asked for (0 or absent: none). */
  readonly transferEvery?: number;
  /** Each node takes a snapshot and compacts its log every this many applied entries (absent: never). */
  readonly snapshotEvery?: number;
  /**
   * Mean time between membership changes the current leader is asked for (0 or absent: none): add a
   * learner, promote one, add or remove a voter (the leader too), or replace one by another at once.
   */
  readonly membershipEvery?: number;
  /** Machines started outside the cluster, empty, that membership changes may add (default 0). */
  readonly spares?: number;
  readonly sabotage?: Sabotage;
}

/** What a run did. */
export interface SimulationReport {
  readonly seed: number;
  readonly events: number;
  readonly acknowledged: number;
  readonly unknown: number;
  readonly maxTerm: number;
  readonly trace: readonly string[];
}

/** A failed run: the seed replays it; the trace tail shows what led up to it. */
export class SimulationFailure extends Error {
  constructor(
    readonly scenario: string,
    readonly seed: number,
    override readonly cause: Error,
    readonly trace: readonly string[],
  ) {
    super(`simulation "${scenario}" failed with seed ${seed}: ${cause.message}\n  replay: npm run sim -- --scenario ${scenario} --seed ${seed} --trace`);
    this.name = 'SimulationFailure';
  }
}

const TICK_MS = 10;
const OP_TIMEOUT_MS = 1500;

type HistoryOp = Operation<KvInput, KvOutput>;

interface PendingOp {
  readonly client: number;
  readonly command: ClientCommand;
  readonly call: number;
  waiting: { node: NodeId; index: number; term: number } | null;
}

/** Runs one scenario from one seed. Throws SimulationFailure on any violated property. */
export function runSimulation(scenario: Scenario, seed: number, options: { trace?: boolean } = {}): SimulationReport {
  const sim = new Simulation(scenario, seed, options.trace ?? false);
  try {
    return sim.run();
  } catch (error) {
    throw new SimulationFailure(scenario.name, seed, error as Error, sim.traceTail());
  }
}

class Simulation implements SimWorld {
  readonly checker = new SafetyChecker();
  private readonly rng: Rng;
  private readonly queue = new EventQueue();
  private time = 0;
  private events = 0;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly ids: NodeId[];
  /** Directed links that drop everything: "a>b". */
  private readonly cut = new Set<string>();
  private faultsOn = true;
  private clientsOn = true;
  private readonly history: HistoryOp[] = [];
  private readonly pending = new Map<string, PendingOp>();
  private readonly opTimers = new Map<PendingOp, number>();
  private nextOp = 0;
  private readonly traceLines: string[] = [];
  /** A node restarted on a lost disk, until it has applied what the others held then. */
  private recovering: { node: SimNode; upTo: number } | null = null;

  constructor(
    private readonly scenario: Scenario,
    readonly seed: number,
    private readonly keepTrace: boolean,
  ) {
    this.rng = seededRng(seed);
    this.ids = Array.from({ length: scenario.nodes + (scenario.spares ?? 0) }, (_, i) => String(i + 1));
    const bootstrap = this.ids.slice(0, scenario.nodes);
    for (const id of this.ids) this.nodes.set(id, new SimNode(id, bootstrap, this, scenario));
  }

  run(): SimulationReport {
    const { faults, faultMs, livenessMs } = this.scenario;
    for (const node of this.nodes.values()) {
      node.boot();
      const rate = 1 + this.uniform(-1, 1) * faults.drift;
      this.every(TICK_MS * rate, () => node.tick());
    }
    for (let c = 0; c < this.scenario.clients; c++) this.after(this.uniform(0, 50), () => this.startOp(c));
    this.scheduleFaults();
    this.after(faultMs, () => this.beginLiveness());
    this.after(faultMs + livenessMs / 2, () => (this.clientsOn = false));
    const end = faultMs + livenessMs;
    // Past the end, operations still open get their answer or their deadline.
    const grace = end + 2 * OP_TIMEOUT_MS;
    for (let next = this.queue.pop(); next !== undefined; next = this.queue.pop()) {
      if (next.time > grace || (next.time > end && this.opTimers.size === 0)) break;
      this.time = next.time;
      this.events++;
      next.run();
    }
    this.checkConverged();
    const bad = checkKvHistory(this.history);
    if (bad !== null) throw new SafetyViolation('linearizability', `the history of key ${bad} is not linearizable`);
    return {
      seed: this.seed,
      events: this.events,
      acknowledged: this.history.filter((o) => o.return !== Infinity).length,
      unknown: this.history.filter((o) => o.return === Infinity).length,
      maxTerm: Math.max(...[...this.nodes.values()].map((n) => n.term())),
      trace: this.traceLines,
    };
  }

  traceTail(): string[] {
    return this.traceLines.slice(-60);
  }

  // ---- SimWorld ----------------------------------------------------------------------------

  now(): number {
    return this.time;
  }

  after(delay: number, fn: () => void): void {
    this.queue.schedule(this.time + delay, fn);
  }

  diskLatency(): number {
    return this.uniform(...this.scenario.faults.diskLatency);
  }

  nodeSeed(): number {
    return this.rng.nextInt(2 ** 31);
  }

  send(messages: readonly Message[]): void {
    const { loss, duplicate, delay } = this.scenario.faults;
    for (const m of messages) {
      const copies = this.faultsOn && this.chance(duplicate) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        if (this.faultsOn && this.chance(loss)) continue;
        // Each message draws its own delay, so messages overtake each other (reordering).
        this.after(this.uniform(...delay), () => {
          if (!this.cut.has(`${m.from}>${m.to}`)) this.nodes.get(m.to)?.receive(m);
        });
      }
    }
  }

  applied(node: SimNode, entry: Entry, output: KvOutput | null): void {
    const key = `${node.id}:${entry.index}`;
    const op = this.pending.get(key);
    if (op === undefined || op.waiting === null) return;
    this.pending.delete(key);
    if (entry.term !== op.waiting.term) {
      // Replaced by another leader's entry: never applied, so it is left out of the history.
      this.trace(`client ${op.client} op ${op.command.op} lost at ${key}`);
      this.finishOp(op, null);
      return;
    }
    this.finishOp(op, { ...this.historyOp(op), output: output!, return: this.time });
  }

  holders(index: number, term: number): NodeId[] | null {
    if ((this.scenario.faults.wipeEvery ?? 0) > 0) return null;
    return [...this.nodes.values()].filter((n) => n.holds(index, term)).map((n) => n.id);
  }

  trace(line: string): void {
    if (this.keepTrace || this.traceLines.length < 100_000) this.traceLines.push(`${this.time.toFixed(1).padStart(8)} ${line}`);
    if (!this.keepTrace && this.traceLines.length > 200) this.traceLines.splice(0, 100);
  }

  // ---- clients -----------------------------------------------------------------------------

  private startOp(client: number): void {
    if (!this.clientsOn) return;
    const input = randomKvInput(this.rng, this.scenario.keys, this.nextOp, 4);
    const op: PendingOp = { client, command: { client, op: this.nextOp++, input }, call: this.time, waiting: null };
    this.opTimers.set(op, this.time + OP_TIMEOUT_MS);
    this.after(OP_TIMEOUT_MS, () => {
      if (this.opTimers.get(op) === undefined) return;
      // No answer in time: the outcome is unknown, and the client moves on.
      if (op.waiting !== null) this.pending.delete(`${op.waiting.node}:${op.waiting.index}`);
      this.finishOp(op, { ...this.historyOp(op), output: undefined, return: Infinity });
    });
    this.attempt(op, this.ids[this.rng.nextInt(this.ids.length)]!);
  }

  /** Tries `target`; a refusal there appended nothing, so trying elsewhere is safe. */
  private attempt(op: PendingOp, target: NodeId): void {
    if (!this.opTimers.has(op)) return;
    const node = this.nodes.get(target)!;
    const position = node.propose(op.command);
    if (position === null) {
      const hint = node.leaderHint();
      const next = hint !== null && hint !== target ? hint : this.ids[this.rng.nextInt(this.ids.length)]!;
      this.after(this.uniform(2, 20), () => this.attempt(op, next));
      return;
    }
    op.waiting = { node: target, index: position.index, term: position.term };
    this.pending.set(`${target}:${position.index}`, op);
  }

  private finishOp(op: PendingOp, record: HistoryOp | null): void {
    if (!this.opTimers.delete(op)) return;
    if (record !== null) this.history.push(record);
    this.after(this.uniform(0, 20), () => this.startOp(op.client));
  }

  private historyOp(op: PendingOp): HistoryOp {
    return { client: op.client, input: op.command.input, output: undefined, call: op.call, return: Infinity };
  }

  /** A crash loses the node's answers: its callers cannot learn the outcome. */
  private abandonPendingAt(id: NodeId): void {
    for (const [key, op] of this.pending) {
      if (!key.startsWith(`${id}:`)) continue;
      this.pending.delete(key);
      this.finishOp(op, { ...this.historyOp(op), output: undefined, return: Infinity });
    }
  }

  // ---- faults ------------------------------------------------------------------------------

  private scheduleFaults(): void {
    const f = this.scenario.faults;
    const recurring = (mean: number, fault: () => void): void => {
      if (mean <= 0) return;
      const next = (): void =>
        this.after(this.uniform(0, 2 * mean), () => {
          if (!this.faultsOn) return;
          fault();
          next();
        });
      next();
    };
    recurring(f.partitionEvery, () => this.partition());
    recurring(f.crashEvery, () => {
      const node = this.pick((n) => n.up);
      if (node === undefined) return;
      node.crash();
      this.abandonPendingAt(node.id);
      this.after(this.uniform(...f.downtime), () => {
        if (!node.up) node.boot();
      });
    });
    recurring(this.scenario.transferEvery ?? 0, () => {
      const leader = this.pick((n) => n.up && n.role() === 'Leader');
      if (leader === undefined) return;
      // Half the time to a chosen node (which may be down or cut off), half to the most up to date.
      const target = this.chance(0.5) ? this.ids[this.rng.nextInt(this.ids.length)]! : null;
      if (leader.transferLeadership(target)) this.trace(`${leader.id} hands leadership to ${target ?? 'the most up-to-date follower'}`);
    });
    recurring(this.scenario.membershipEvery ?? 0, () => this.changeMembership());
    recurring(f.wipeEvery ?? 0, () => this.loseDisk());
    recurring(f.hostileEvery ?? 0, () => this.hostile());
    recurring(f.pauseEvery, () => {
      const node = this.pick((n) => n.up && !n.paused);
      if (node === undefined) return;
      this.trace(`${node.id} pauses`);
      node.pause();
      this.after(this.uniform(...f.pauseLength), () => {
        this.trace(`${node.id} resumes`);
        node.resume();
      });
    });
  }

  /**
   * A node loses its disk and restarts empty. One at a time, and only while every other node holds
   * its data: until the node holds what the others held when it lost its own, a second loss could
   * take the last copy of a committed entry, and a majority of nodes holding back (RejoinGuard)
   * cannot elect anyone, by design.
   */
  private loseDisk(): void {
    if (this.recovering !== null) {
      const { node, upTo } = this.recovering;
      if (!node.up || node.appliedIndex() < upTo) return;
      this.recovering = null;
    }
    if ([...this.nodes.values()].some((n) => n.holdsBack())) return;
    const node = this.pick((n) => n.up);
    if (node === undefined) return;
    const upTo = Math.max(...[...this.nodes.values()].map((n) => n.durableLastIndex()));
    node.loseDisk();
    this.abandonPendingAt(node.id);
    this.recovering = { node, upTo };
    this.after(this.uniform(...this.scenario.faults.downtime), () => {
      if (!node.up) node.boot();
    });
  }

  /** Asks the leader, if any, for a random membership change; it may refuse (one is in flight). */
  private changeMembership(): void {
    const leader = this.pick((n) => n.up && !n.paused && n.role() === 'Leader');
    if (leader === undefined) return;
    const config = leader.configuration();
    const members = new Set([...config.voters, ...config.outgoing, ...config.learners]);
    const outsiders = this.ids.filter((id) => !members.has(id));
    const any = <T>(list: readonly T[]): T | undefined => list[this.rng.nextInt(list.length)];
    const add = (type: 'add-voter' | 'add-learner', id: NodeId): ConfigChange => ({ type, id, address: `sim-${id}` });
    const outsider = any(outsiders);
    const learner = any(config.learners);
    const voter = any(config.voters)!;
    const choices: ConfigChange[][] = [[{ type: 'remove', id: voter }]];
    // A voter joins as a learner first (thesis §4.2.1); the leader refuses to promote one not caught up.
    if (outsider !== undefined) choices.push([add('add-learner', outsider)]);
    if (learner !== undefined)
      choices.push([add('add-voter', learner)], [{ type: 'remove', id: learner }], [add('add-voter', learner), { type: 'remove', id: voter }]);
    if (config.learners.length > 1) choices.push(config.learners.map((id) => add('add-voter', id)));
    // Never fewer than two voters: a lone voter's crash would stop the cluster until it returns.
    const possible = choices.filter((c) => config.voters.length > 2 || c.some((change) => change.type !== 'remove' || config.learners.includes(change.id)));
    const changes = any(possible);
    if (changes === undefined) return;
    const outcome = leader.proposeChange(changes);
    this.trace(`${leader.id} asked to ${changes.map((c) => `${c.type} ${c.id}`).join(', ')}: ${outcome}`);
  }

  /** A message no correct peer sends, through the frame codec as the transport would pass it. */
  private hostile(): void {
    const node = this.pick((n) => n.up);
    if (node === undefined) return;
    const others = this.ids.filter((id) => id !== node.id);
    const message = hostileMessage(this.rng, others[this.rng.nextInt(others.length)]!, { id: node.id, term: node.term() });
    const delivered = throughCodec([message]);
    this.trace(`hostile ${message.type} to ${node.id}: ${delivered.length === 0 ? 'refused by the codec' : 'delivered'}`);
    for (const m of delivered) node.receive(m);
  }

  /** Splits the cluster in two (both ways), or cuts one direction of one link; heals later. */
  private partition(): void {
    const links: string[] = [];
    if (this.chance(0.3)) {
      const [a, b] = [this.ids[this.rng.nextInt(this.ids.length)]!, this.ids[this.rng.nextInt(this.ids.length)]!];
      if (a !== b) links.push(`${a}>${b}`);
    } else {
      const side = new Set(this.ids.filter(() => this.chance(0.5)));
      for (const a of this.ids) for (const b of this.ids) if (side.has(a) !== side.has(b)) links.push(`${a}>${b}`);
    }
    if (links.length === 0) return;
    this.trace(`partition: ${links.join(' ')}`);
    for (const l of links) this.cut.add(l);
    this.after(this.uniform(...this.scenario.faults.partitionLength), () => {
      for (const l of links) this.cut.delete(l);
      this.trace(`healed: ${links.join(' ')}`);
    });
  }

  /** Everything heals: no more loss, partitions, pauses; crashed nodes come back. */
  private beginLiveness(): void {
    this.faultsOn = false;
    this.cut.clear();
    this.trace('faults end; the cluster must converge');
    for (const node of this.nodes.values()) {
      if (!node.up) node.boot();
      else if (node.paused) node.resume();
    }
  }

  /** After the quiet phase: one leader, and every node has applied everything committed. */
  private checkConverged(): void {
    const all = [...this.nodes.values()];
    const leaders = all.filter((n) => n.role() === 'Leader');
    if (leaders.length !== 1)
      throw new SafetyViolation(
        'liveness',
        `${leaders.length} leaders after the faults ended (roles: ${all.map((n) => `${n.id}=${n.role()}${n.holdsBack() ? ' (holding back)' : ''} term ${n.term()} last ${n.durableLastIndex()}`).join(', ')})`,
      );
    const commit = leaders[0]!.commitIndex();
    // The members of the final configuration converge; machines never added or since removed need not.
    const config = leaders[0]!.configuration();
    const nodes = all.filter((n) => config.voters.includes(n.id) || config.learners.includes(n.id));
    for (const n of nodes) {
      if (n.appliedIndex() !== commit)
        throw new SafetyViolation('liveness', `node ${n.id} applied ${n.appliedIndex()} of ${commit} committed after the faults ended`);
    }
    if (this.opTimers.size > 0) throw new SafetyViolation('liveness', `${this.opTimers.size} client operations still open at the end`);
  }

  // ---- randomness ----------------------------------------------------------------------------

  private uniform(lo: number, hi: number): number {
    return uniform(this.rng, lo, hi);
  }

  private chance(p: number): boolean {
    return chance(this.rng, p);
  }

  private pick(filter: (n: SimNode) => boolean): SimNode | undefined {
    const candidates = [...this.nodes.values()].filter(filter);
    return candidates[this.rng.nextInt(candidates.length)];
  }

  private every(period: number, fn: () => void): void {
    const tick = (): void => {
      fn();
      this.after(period, tick);
    };
    this.after(this.uniform(0, period), tick);
  }
}
