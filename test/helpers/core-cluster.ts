import { votersOnly } from '../../src/core/membership.ts';
import type { Message } from '../../src/core/messages.ts';
import { RaftCore, type RaftOptions } from '../../src/core/raft.ts';
import type { ReadState } from '../../src/core/ready.ts';
import { seededRng } from '../../src/core/rng.ts';
import { EMPTY_HARD_STATE, type Command, type Entry, type HardState, type NodeId } from '../../src/core/types.ts';

/** A node's simulated disk: what it would find after a restart. */
export interface Disk {
  hardState: HardState;
  entries: Entry[];
}

/**
 * Several cores wired by a message queue that the test drains by hand: synchronous, no timers,
 * persistence is instant. Enough to test one protocol rule at a time. The cores follow the paper
 * as written unless `tune` switches on pre-vote or check-quorum.
 */
export class CoreCluster {
  readonly nodes = new Map<NodeId, RaftCore>();
  readonly disks = new Map<NodeId, Disk>();
  readonly applied = new Map<NodeId, Entry[]>();
  /** Read states each node's batches reported, in order. */
  readonly reads = new Map<NodeId, ReadState[]>();
  /** Messages sent and not yet delivered, in order. */
  queue: Message[] = [];
  /** Links that drop everything: "a->b". */
  readonly cut = new Set<string>();

  /** The voters at bootstrap: all of `ids` unless `tune.configuration` names fewer (the rest start as outsiders). */
  private readonly bootstrap: RaftOptions['configuration'];

  constructor(
    readonly ids: NodeId[],
    private readonly tune: Partial<RaftOptions> = {},
  ) {
    this.bootstrap = tune.configuration ?? votersOnly(ids);
    ids.forEach((id, i) => {
      this.disks.set(id, { hardState: EMPTY_HARD_STATE, entries: [] });
      this.applied.set(id, []);
      this.start(id, i + 1);
    });
    this.introduce();
  }

  /**
   * Lets every node hear every other ask for a pre-vote with an empty log, as the first election
   * timeouts of a new cluster would, so that nodes with nothing on disk take part in its first
   * election (RejoinGuard) without each test waiting those timeouts out. The answers are dropped.
   */
  private introduce(): void {
    for (const from of this.ids) {
      for (const to of this.ids) {
        if (from !== to) this.node(to).step({ type: 'PreVote', from, to, term: 1, lastLogIndex: 0, lastLogTerm: 0 });
      }
    }
    this.flush();
    this.queue = [];
  }

  /** (Re)creates the core of `id` from its disk, as a restart would. */
  start(id: NodeId, seed: number): RaftCore {
    const disk = this.disks.get(id)!;
    const core = new RaftCore({
      id,
      configuration: this.bootstrap,
      electionTicks: 10,
      heartbeatTicks: 2,
      rng: seededRng(seed),
      hardState: disk.hardState,
      entries: disk.entries,
      preVote: false,
      checkQuorum: false,
      ...this.tune,
    });
    this.nodes.set(id, core);
    this.applied.set(id, []);
    return core;
  }

  node(id: NodeId): RaftCore {
    return this.nodes.get(id)!;
  }

  /** Runs every node's ready batch: persist, queue messages, apply, advance. */
  flush(): void {
    for (const [id, core] of this.nodes) {
      for (;;) {
        // As the runtime does: commit notices go out once nothing else is ready (Leader.flushCommitNotices).
        if (!core.hasReady()) core.flushCommitNotices();
        if (!core.hasReady()) break;
        const rd = core.ready();
        const disk = this.disks.get(id)!;
        if (rd.snapshot) disk.entries = []; // the log restarts after the snapshot (its state is not modelled here)
        if (rd.hardState) disk.hardState = rd.hardState;
        const first = rd.entries[0];
        if (first) disk.entries = [...disk.entries.filter((e) => e.index < first.index), ...rd.entries];
        this.queue.push(...rd.messages);
        this.applied.get(id)!.push(...rd.committedEntries);
        if (rd.readStates.length > 0) this.reads.set(id, [...(this.reads.get(id) ?? []), ...rd.readStates]);
        core.advance(rd);
      }
    }
  }

  /** Delivers queued messages (and what they cause) until the network is quiet. */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.flush();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (!this.cut.has(`${m.from}->${m.to}`)) this.nodes.get(m.to)?.step(m);
      }
    }
    throw new Error('the cluster did not settle');
  }

  /** Ticks `id` until it starts an election, then settles. */
  elect(id: NodeId): void {
    const core = this.node(id);
    for (let i = 0; i < 100 && core.softState().role === 'Follower'; i++) core.tick();
    this.settle();
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).softState().role === 'Leader');
  }

  appliedData(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.kind === 'normal')
      .map((e) => e.data);
  }
}

/**
 * One core of the 3-node cluster 1, 2, 3, whose peers the test plays: the paper's rules (no pre-vote,
 * no check-quorum), empty storage, and `options` on top.
 */
export function loneCore(options: Partial<RaftOptions> = {}): RaftCore {
  return new RaftCore({
    id: '1',
    configuration: votersOnly(['1', '2', '3']),
    electionTicks: 10,
    heartbeatTicks: 2,
    rng: seededRng(1),
    hardState: EMPTY_HARD_STATE,
    entries: [],
    preVote: false,
    checkQuorum: false,
    ...options,
  });
}

/** Takes the messages of the given type out of a list, typed. */
export function ofType<T extends Message['type']>(messages: readonly Message[], type: T): Extract<Message, { type: T }>[] {
  return messages.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

/** Commands for operations `data`, as a node's runtime proposes them without a client session. */
export function normal(...data: string[]): Command[] {
  return data.map((d) => ({ kind: 'normal', data: d }));
}
