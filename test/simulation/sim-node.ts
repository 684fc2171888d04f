import { isRefusal, type ConfigChange } from '../../src/core/configuration-change.ts';
import { votersOnly, type Configuration } from '../../src/core/membership.ts';
import type { Message } from '../../src/core/messages.ts';
import { RaftCore, type LogPosition, type Sabotage } from '../../src/core/raft.ts';
import type { Ready } from '../../src/core/ready.ts';
import { seededRng } from '../../src/core/rng.ts';
import { EMPTY_HARD_STATE, type Entry, type HardState, type NodeId, type SnapshotMeta } from '../../src/core/types.ts';
import type { KvInput, KvOutput } from '../linearizability/checker.ts';
import { SafetyChecker, SafetyViolation } from './safety.ts';

/** What a simulated node needs from its world. */
export interface SimWorld {
  readonly checker: SafetyChecker;
  now(): number;
  /** Runs `fn` after `delay` ms of simulated time. */
  after(delay: number, fn: () => void): void;
  /** A disk write's latency, drawn from the seeded generator. */
  diskLatency(): number;
  /** A seed for a (re)started node's own election-timeout generator. */
  nodeSeed(): number;
  send(messages: readonly Message[]): void;
  /** Called for every entry a node applies, with what the state machine answered. */
  applied(node: SimNode, entry: Entry, output: KvOutput | null): void;
  trace(line: string): void;
  /** The nodes whose disk holds the entry at `index` of `term`; null where disks may be lost, so cannot vouch for it. */
  holders(index: number, term: number): NodeId[] | null;
}

/** The data of a client's entry: who asked, which of its operations, and what. */
export interface ClientCommand {
  readonly client: number;
  readonly op: number;
  readonly input: KvInput;
}

/**
 * One node of the simulation: the real RaftCore driven by the runtime's contract (persist, then send,
 * then apply, then advance), a disk that keeps only what was written before a crash, and the
 * key-value state machine, rebuilt from the log after each restart.
 */
export class SimNode {
  private core: RaftCore | null = null;
  /** What survives a crash. */
  private disk: SimDisk = emptyDisk();
  /** The state of the last snapshot a leader sent this node, until the core says to install it. */
  private readonly incoming = new Map<number, string>();
  private store = new Map<string, unknown>();
  private lastApplied = 0;
  /** Bumped at each crash, so a write that was in flight then never completes. */
  private incarnation = 0;
  private writing = false;
  private pausedInbox: Message[] | null = null;

  constructor(
    readonly id: NodeId,
    private readonly voters: readonly NodeId[],
    private readonly world: SimWorld,
    private readonly tuning: {
      readonly sabotage?: Sabotage | undefined;
      readonly maxEntriesPerMessage?: number | undefined;
      readonly preVote?: boolean | undefined;
      readonly checkQuorum?: boolean | undefined;
      /** Take a snapshot (and compact the log) every this many applied entries (§7); absent: never. */
      readonly snapshotEvery?: number | undefined;
    } = {},
  ) {}

  get up(): boolean {
    return this.core !== null;
  }

  get paused(): boolean {
    return this.pausedInbox !== null;
  }

  /** Starts (or restarts) from what the disk holds. */
  boot(): void {
    this.core = new RaftCore({
      id: this.id,
      configuration: votersOnly(this.voters),
      electionTicks: 10,
      heartbeatTicks: 3,
      rng: seededRng(this.world.nodeSeed()),
      hardState: this.disk.hardState,
      entries: this.disk.entries,
      ...(this.disk.snapshot === null ? {} : { snapshot: this.disk.snapshot.meta }),
      ...(this.tuning.sabotage === undefined ? {} : { sabotage: this.tuning.sabotage }),
      ...(this.tuning.maxEntriesPerMessage === undefined ? {} : { maxEntriesPerMessage: this.tuning.maxEntriesPerMessage }),
      ...(this.tuning.preVote === undefined ? {} : { preVote: this.tuning.preVote }),
      ...(this.tuning.checkQuorum === undefined ? {} : { checkQuorum: this.tuning.checkQuorum }),
    });
    const snapshot = this.disk.snapshot;
    this.store = snapshot === null ? new Map() : restoreStore(snapshot.data);
    this.lastApplied = snapshot?.meta.index ?? 0;
    this.world.trace(`${this.id} boots: term ${this.disk.hardState.term}, snapshot at ${this.lastApplied}, ${this.disk.entries.length} entries on disk`);
    this.process();
  }

  /** Stops at once: volatile state and any write in flight are lost. */
  crash(): void {
    this.core = null;
    this.writing = false;
    this.pausedInbox = null;
    this.incarnation++;
    this.world.trace(`${this.id} crashes`);
  }

  /** The data directory is lost: the node stops at once, and its disk holds nothing any more. */
  loseDisk(): void {
    this.crash();
    this.disk = emptyDisk();
    this.world.trace(`${this.id} loses its data directory`);
  }

  /** Whether it holds back from elections, or will when it starts: it may have lost its data (RejoinGuard). */
  holdsBack(): boolean {
    if (this.core !== null) return this.core.isRejoining();
    const { hardState, entries, snapshot } = this.disk;
    return hardState.rejoining === true || (hardState.term === 0 && entries.length === 0 && snapshot === null);
  }

  /** The last index on this node's disk. */
  durableLastIndex(): number {
    return this.disk.entries.at(-1)?.index ?? this.disk.snapshot?.meta.index ?? 0;
  }

  pause(): void {
    if (this.up && !this.paused) this.pausedInbox = [];
  }

  /** Resumes a paused node; what arrived meanwhile is handled now, as a process's socket buffers would be. */
  resume(): void {
    const inbox = this.pausedInbox;
    this.pausedInbox = null;
    for (const m of inbox ?? []) this.receive(m);
  }

  tick(): void {
    if (this.core === null || this.paused) return;
    this.guard(() => this.core!.tick());
    this.process();
  }

  receive(message: Message): void {
    if (this.core === null) return;
    if (message.type === 'InstallSnapshot' && this.pausedInbox === null) {
      this.incoming.set(message.snapshot.index, (message as Message & { data: string }).data);
    }
    if (this.pausedInbox !== null) {
      this.pausedInbox.push(message);
      return;
    }
    this.guard(() => this.core!.step(message));
    this.process();
  }

  /** Proposes a client command; null when this node is down, paused or not the leader. */
  propose(command: ClientCommand): LogPosition | null {
    if (this.core === null || this.paused) return null;
    const positions = this.core.propose([{ kind: 'normal', data: JSON.stringify(command) }]);
    this.process();
    return positions?.[0] ?? null;
  }

  /** Asks for a membership change (thesis chapter 4); says what became of it. */
  proposeChange(changes: readonly ConfigChange[]): string {
    if (this.core === null || this.paused) return 'down';
    const outcome = this.core.proposeConfigChange(changes);
    this.process();
    if (outcome === null) return 'not the leader';
    return isRefusal(outcome) ? `refused: ${outcome.message}` : `appended at ${outcome.index}`;
  }

  /** The configuration in force here (the bootstrap's while down: only the leader's is asked for). */
  configuration(): Configuration {
    return this.core?.configuration() ?? votersOnly(this.voters);
  }

  /** Starts a leadership transfer (thesis §3.10) if this node leads; false otherwise. */
  transferLeadership(target: NodeId | null): boolean {
    if (this.core === null || this.paused) return false;
    const chosen = this.core.transferLeadership(target);
    this.process();
    return chosen !== null;
  }

  leaderHint(): NodeId | null {
    return this.core?.softState().leader ?? null;
  }

  role(): string {
    return this.core?.softState().role ?? 'Down';
  }

  term(): number {
    return this.core?.softState().term ?? this.disk.hardState.term;
  }

  commitIndex(): number {
    return this.core?.commitIndex() ?? 0;
  }

  appliedIndex(): number {
    return this.lastApplied;
  }

  /** Takes the next ready batch, unless a write is still in flight. */
  private process(): void {
    const core = this.core;
    if (core === null || this.writing) return;
    // As the runtime does: commit notices go out once nothing else is ready (Leader.flushCommitNotices).
    if (!core.hasReady()) core.flushCommitNotices();
    if (!core.hasReady()) return;
    const ready = core.ready();
    this.world.checker.wrote(this.id, ready.entries, (i) => core.termAt(i));
    if (ready.configuration !== null) this.world.trace(`${this.id} configuration ${describe(ready.configuration)}`);
    const incarnation = this.incarnation;
    this.writing = true;
    const finish = (): void => {
      if (incarnation === this.incarnation) this.finish(core, ready);
    };
    if (ready.hardState !== null || ready.entries.length > 0) this.world.after(this.world.diskLatency(), finish);
    else finish();
  }

  /** The write is durable: send, apply, advance, and take the next batch. */
  private finish(core: RaftCore, ready: Ready): void {
    if (ready.snapshot !== null) this.install(ready.snapshot);
    if (ready.hardState !== null) this.disk.hardState = ready.hardState;
    const first = ready.entries[0];
    if (first !== undefined) this.disk.entries = [...this.disk.entries.filter((e) => e.index < first.index), ...ready.entries];
    this.world.send(ready.messages.map((m) => (m.type === 'InstallSnapshot' ? this.withState(m) : m)));
    for (const entry of ready.committedEntries) {
      this.world.checker.applied(this.id, entry, this.lastApplied);
      this.lastApplied = entry.index;
      this.world.applied(this, entry, entry.kind === 'normal' ? this.apply((JSON.parse(entry.data) as ClientCommand).input) : null);
    }
    const commit = core.commitIndex();
    const configuration = core.configuration();
    core.advance(ready);
    this.noteLeaderCommit(core, commit, configuration);
    this.maybeSnapshot(core);
    this.writing = false;
    this.process();
  }

  /** Every `snapshotEvery` applied entries: the state machine's state goes to disk, and the log is compacted. */
  private maybeSnapshot(core: RaftCore): void {
    const every = this.tuning.snapshotEvery;
    if (every === undefined || this.lastApplied - (this.disk.snapshot?.meta.index ?? 0) < every) return;
    const meta = core.compact(this.lastApplied);
    if (meta === null) return;
    this.disk.snapshot = { meta, data: JSON.stringify([...this.store]) };
    this.disk.entries = this.disk.entries.filter((e) => e.index > meta.index);
  }

  /** A leader's snapshot replaces the state machine and the log (§7). It never goes back in time. */
  private install(meta: SnapshotMeta): void {
    const data = this.incoming.get(meta.index);
    if (data === undefined) throw new SafetyViolation('snapshot transfer', `${this.id} was told to install snapshot ${meta.index} but holds no state for it`);
    if (meta.index < this.lastApplied) {
      throw new SafetyViolation(
        'state machine safety',
        `${this.id} installed a snapshot of index ${meta.index} over the state it had applied up to ${this.lastApplied}`,
      );
    }
    this.disk.snapshot = { meta, data };
    this.disk.entries = [];
    this.store = restoreStore(data);
    this.lastApplied = meta.index;
    for (const index of [...this.incoming.keys()]) if (index <= meta.index) this.incoming.delete(index);
    this.world.trace(`${this.id} installs the snapshot at ${meta.index}`);
  }

  /**
   * An InstallSnapshot carries the state of this node's newest snapshot, as a runtime sends what its
   * snapshot store holds: a newer one than the core named when it wrote the message (it may have
   * compacted since) covers more, and the follower's answer says which it installed.
   */
  private withState(m: Message & { type: 'InstallSnapshot' }): Message {
    const snapshot = this.disk.snapshot;
    if (snapshot === null || snapshot.meta.index < m.snapshot.index) {
      throw new SafetyViolation('snapshot transfer', `${this.id} sends snapshot ${m.snapshot.index} but holds ${snapshot?.meta.index ?? 'none'}`);
    }
    return { ...m, snapshot: snapshot.meta, data: snapshot.data } as Message;
  }

  private apply(input: KvInput): KvOutput {
    switch (input.kind) {
      case 'set':
        this.store.set(input.key, input.value);
        return { done: true };
      case 'delete':
        this.store.delete(input.key);
        return { done: true };
      case 'get':
        return { value: this.store.get(input.key) };
      case 'cas': {
        const current = this.store.has(input.key) ? this.store.get(input.key) : null;
        const ok = JSON.stringify(current) === JSON.stringify(input.expected);
        if (ok) this.store.set(input.key, input.value);
        return { ok };
      }
    }
  }

  /**
   * Runs an input through the core. The core throws when one of its own invariants breaks (a
   * committed entry truncated): that is a finding. A node that has just won an election is checked
   * at once, against what was committed before it won (not later, when its batch is processed).
   */
  private guard(fn: () => void): void {
    const core = this.core!;
    const wasLeader = core.softState().role === 'Leader';
    const commit = core.commitIndex();
    const configuration = core.configuration();
    try {
      fn();
    } catch (error) {
      throw new SafetyViolation('core invariant', `${this.id}: ${(error as Error).message}`);
    }
    const now = core.softState();
    if (now.role === 'Leader' && !wasLeader) {
      this.world.trace(`${this.id} leads term ${now.term}`);
      this.world.checker.becameLeader(this.id, now.term, (i) => core.termAt(i), core.firstIndex(), core.configuration());
    }
    this.noteLeaderCommit(core, commit, configuration);
  }

  /**
   * When this node leads, entries it has just committed are committed in its term, under the
   * configuration in force when it counted (before the step: committing a joint configuration
   * appends the next one at once).
   */
  private noteLeaderCommit(core: RaftCore, before: number, configuration: Configuration): void {
    const { role, term } = core.softState();
    const commit = core.commitIndex();
    if (role !== 'Leader' || commit <= before) return;
    const holders = this.world.holders(commit, core.termAt(commit) ?? -1);
    this.world.checker.leaderCommitted(term, before, commit, (i) => core.termAt(i), configuration, holders ?? undefined);
  }

  /** Whether this node's disk holds the entry at `index` of `term` (or a snapshot past it, which holds only committed state). */
  holds(index: number, term: number): boolean {
    if ((this.disk.snapshot?.meta.index ?? 0) >= index) return true;
    // The disk's entries are contiguous: the one at `index` is found by its offset.
    const first = this.disk.entries[0]?.index ?? 0;
    return this.disk.entries[index - first]?.term === term;
  }
}

/** What survives a crash: the hard state, the newest snapshot (its metadata and state), and the log after it. */
interface SimDisk {
  hardState: HardState;
  snapshot: { meta: SnapshotMeta; data: string } | null;
  entries: Entry[];
}

function emptyDisk(): SimDisk {
  return { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [] };
}

function restoreStore(data: string): Map<string, unknown> {
  return new Map(JSON.parse(data) as [string, unknown][]);
}

function describe(c: Configuration): string {
  const learners = c.learners.length > 0 ? ` learners {${c.learners.join(' ')}}` : '';
  return c.outgoing.length > 0 ? `{${c.voters.join(' ')}} joint with {${c.outgoing.join(' ')}}${learners}` : `{${c.voters.join(' ')}}${learners}`;
}
