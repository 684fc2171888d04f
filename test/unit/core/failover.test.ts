import { expect } from 'chai';
import { votersOnly } from '../../../src/core/membership.ts';
import type { Message } from '../../../src/core/messages.ts';
import { RaftCore } from '../../../src/core/raft.ts';
import { seededRng } from '../../../src/core/rng.ts';
import type { NodeId, Rng } from '../../../src/core/types.ts';

/** What the runtime makes of electionTimeout 300 ms and heartbeatInterval 100 ms: 20 ms ticks. */
const ELECTION_TICKS = 15;
const HEARTBEAT_TICKS = 5;
const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1);

/**
 * Cores as separate processes run them: each ticks on its own timer, out of phase with the
 * others (node i ticks at phase_i + k, in ticks of time), and a message takes a small random part of
 * a tick to arrive. Time is measured in ticks. Everything random is drawn from the seed.
 */
class PhasedCluster {
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, RaftCore>();
  time = 0;
  private readonly rng: Rng;
  /** When each node ticks next: its phase, then every whole tick after. */
  private readonly nextTick = new Map<NodeId, number>();
  private readonly dead = new Set<NodeId>();
  /** Links that drop everything: "a->b". */
  readonly cut = new Set<string>();
  private inFlight: { at: number; message: Message }[] = [];
  private readonly lastArrival = new Map<string, number>();
  /** Every message delivered, in order, with the time it arrived. */
  readonly delivered: { at: number; message: Message }[] = [];

  constructor(seed: number, size = 3) {
    this.ids = Array.from({ length: size }, (_, i) => String(i + 1));
    this.rng = seededRng(seed);
    for (const [i, id] of this.ids.entries()) {
      const core = new RaftCore({
        id,
        configuration: votersOnly(this.ids),
        electionTicks: ELECTION_TICKS,
        heartbeatTicks: HEARTBEAT_TICKS,
        rng: seededRng(seed * 10 + i),
        // Term 1, so that no node holds back as one that may have lost its data (RejoinGuard).
        hardState: { term: 1, vote: null, commit: 0 },
        entries: [],
        preVote: true,
        checkQuorum: true,
      });
      this.nodes.set(id, core);
      this.nextTick.set(id, this.uniform());
    }
  }

  node(id: NodeId): RaftCore {
    return this.nodes.get(id)!;
  }

  kill(id: NodeId): void {
    this.dead.add(id);
  }

  /** The live leader of the highest term, if any. */
  leader(): { id: NodeId; term: number } | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const id of this.ids) {
      const { role, term } = this.node(id).softState();
      if (!this.dead.has(id) && role === 'Leader' && (best === null || term > best.term)) best = { id, term };
    }
    return best;
  }

  /** Runs the cluster until `until` ticks of time, or until `stop` holds after some event. */
  runUntil(until: number, stop: () => boolean = () => false): boolean {
    for (;;) {
      const nextTick = Math.min(...this.ids.filter((id) => !this.dead.has(id)).map((id) => this.nextTickOf(id)));
      const nextMessage = Math.min(...this.inFlight.map((f) => f.at));
      const at = Math.min(nextTick, nextMessage);
      if (at > until) {
        this.time = until;
        return false;
      }
      this.time = at;
      if (nextMessage <= nextTick) {
        const i = this.inFlight.findIndex((f) => f.at === at);
        const { message } = this.inFlight.splice(i, 1)[0]!;
        if (!this.dead.has(message.to) && !this.cut.has(`${message.from}->${message.to}`)) {
          this.delivered.push({ at, message });
          this.node(message.to).step(message);
          this.flush(message.to);
        }
      } else {
        const id = this.ids.find((candidate) => !this.dead.has(candidate) && this.nextTickOf(candidate) === at)!;
        this.nextTick.set(id, at + 1);
        this.node(id).tick();
        this.flush(id);
      }
      if (stop()) return true;
    }
  }

  /** A pre-vote as `from` would send it now. */
  preVoteFrom(from: NodeId, to: NodeId): void {
    const core = this.node(from);
    const last = core.lastIndex();
    this.send({ type: 'PreVote', from, to, term: core.softState().term + 1, lastLogIndex: last, lastLogTerm: core.termAt(last) ?? 0 });
  }

  private nextTickOf(id: NodeId): number {
    return this.nextTick.get(id)!;
  }

  /** Storage is instant: persist, send, apply, advance. */
  private flush(id: NodeId): void {
    const core = this.node(id);
    while (core.hasReady()) {
      const rd = core.ready();
      for (const m of rd.messages) this.send(m);
      core.advance(rd);
    }
  }

  private send(message: Message): void {
    if (this.dead.has(message.from)) return;
    // 0.01 to 0.1 of a tick (a fifth of a millisecond to two on 20 ms ticks), in order on each link
    // as on a connection.
    const link = `${message.from}->${message.to}`;
    const at = Math.max(this.time + 0.01 + 0.09 * this.uniform(), (this.lastArrival.get(link) ?? 0) + 1e-6);
    this.lastArrival.set(link, at);
    this.inFlight.push({ at, message });
  }

  private uniform(): number {
    return this.rng.nextInt(1_000_000) / 1_000_000;
  }
}

/** Lets a seed's cluster elect a leader and settle under it; returns the leader. */
function settled(c: PhasedCluster): { id: NodeId; term: number } {
  c.runUntil(6 * ELECTION_TICKS);
  const leader = c.leader();
  expect(leader, 'a leader within 6 election timeouts').to.not.equal(null);
  return leader!;
}

describe('core: failover with pre-vote and check-quorum (thesis §9.6, §4.2.3), nodes ticking out of phase', () => {
  it(`when the leader of 3 dies, the first survivor to time out leads at once, within 2 election timeouts (${SEEDS.length} seeds)`, () => {
    let grantedAfterLease = 0;
    let crossed = 0;
    for (const seed of SEEDS) {
      const c = new PhasedCluster(seed);
      const old = settled(c);
      // At some point within a heartbeat interval.
      c.runUntil(c.time + (seed % 10) / 2);
      const killed = c.time;
      c.kill(old.id);
      const elected = c.runUntil(killed + 4 * ELECTION_TICKS, () => (c.leader()?.term ?? 0) > old.term);
      expect(elected, `seed ${seed}: a survivor leads within 4 election timeouts`).to.equal(true);
      const since = c.delivered.filter(({ at }) => at > killed);
      const firstAsk = since.find(({ message }) => message.type === 'PreVote')!.at;
      const answers = since.flatMap(({ message }) => (message.type === 'PreVoteResponse' ? [message] : []));
      if (answers.some((a) => !a.granted && answers.some((b) => b.granted && b.from === a.from && answers.indexOf(b) > answers.indexOf(a)))) {
        grantedAfterLease++;
      }
      const firstVote = since.findIndex(({ message }) => message.type === 'RequestVote');
      if (new Set(since.slice(0, firstVote).flatMap(({ message }) => (message.type === 'PreVote' ? [message.from] : []))).size > 1) crossed++;
      const candidates = since.flatMap(({ message }) => (message.type === 'RequestVote' ? [message.from] : []));
      expect(new Set(candidates).size, `seed ${seed}: survivors that stood for election (a split vote if two)`).to.equal(1);
      // The other survivor may refuse the first pre-vote for its lease on the dead leader (thesis
      // §4.2.3), which it holds for a tick more when the heartbeat reached it a tick later; it then
      // grants as soon as the lease runs out, instead of the asker waiting for a new election timeout.
      expect(c.time - firstAsk, `seed ${seed}: ticks from the first pre-vote to a new leader`).to.be.below(2);
      expect(c.time - killed, `seed ${seed}: ticks from the leader's death to a new leader`).to.be.below(2 * ELECTION_TICKS);
    }
    // Both paths were taken: a pre-vote refused for the lease and granted when it ran out, and two
    // survivors asking at once (Election.holdsAgainst).
    expect(grantedAfterLease, 'seeds in which a survivor refused a pre-vote for its lease, then granted it').to.be.at.least(3);
    expect(crossed, 'seeds in which both survivors asked for pre-votes before either stood').to.be.at.least(1);
  });

  it(`a node cut off from a live leader, pre-voting all along, neither deposes it nor changes a term (${SEEDS.length / 4} seeds)`, () => {
    for (const seed of SEEDS.slice(0, SEEDS.length / 4)) {
      const c = new PhasedCluster(seed);
      const leader = settled(c);
      const [cutOff, other] = c.ids.filter((id) => id !== leader.id) as [NodeId, NodeId];
      // The leader's messages no longer reach `cutOff`; what `cutOff` sends still reaches everyone.
      c.cut.add(`${leader.id}->${cutOff}`);
      const start = c.time;
      // Besides its own pre-votes at each of its election timeouts, it asks the other every tick.
      for (let t = start + 1; t < start + 20 * ELECTION_TICKS; t++) {
        c.runUntil(t);
        c.preVoteFrom(cutOff, other);
      }
      c.runUntil(start + 20 * ELECTION_TICKS);
      const answers = c.delivered
        .filter(({ at }) => at > start)
        .map(({ message }) => message)
        .filter((m) => m.type === 'PreVoteResponse' && m.to === cutOff);
      expect(answers.length, `seed ${seed}: pre-votes answered`).to.be.greaterThan(100);
      expect(
        answers.filter((m) => m.type === 'PreVoteResponse' && m.granted),
        `seed ${seed}: pre-votes granted while the leader lives`,
      ).to.deep.equal([]);
      expect(c.leader(), `seed ${seed}: the leader`).to.deep.equal(leader);
      for (const id of c.ids) expect(c.node(id).softState().term, `seed ${seed}: node ${id}'s term`).to.equal(leader.term);
    }
  });

  it(`when the leader of 5 dies with another node, and the smallest survivor, cut off from a third, can never win, another survivor leads (${SEEDS.length / 4} seeds)`, () => {
    for (const seed of SEEDS.slice(0, SEEDS.length / 4)) {
      const c = new PhasedCluster(seed, 5);
      const old = settled(c);
      const [alsoDead, a, b, third] = c.ids.filter((id) => id !== old.id) as [NodeId, NodeId, NodeId, NodeId];
      c.kill(old.id);
      c.kill(alsoDead);
      // `a` hears only `b`: its pre-votes never reach a majority, and it asks again at each timeout.
      for (const [x, y] of [
        [a, third],
        [third, a],
      ])
        c.cut.add(`${x}->${y}`);
      const killed = c.time;
      const elected = c.runUntil(killed + 10 * ELECTION_TICKS, () => (c.leader()?.term ?? 0) > old.term);
      // `a` would be the better leader (the same log, a smaller id), but refuses `b` only a request
      // that crosses its own; `b` needs its grant, and gets it.
      expect(elected, `seed ${seed}: a leader among ${b} and ${third} within 10 election timeouts`).to.equal(true);
      expect([b, third]).to.include(c.leader()!.id);
    }
  });
});
