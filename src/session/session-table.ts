import { SeqWindow } from './seq-window.ts';

/**
 * How many client sessions the replicated table keeps. It must be the same on every node (it decides
 * what gets applied), so it is fixed rather than configured. Each GraftInstance opens one per start.
 */
export const SESSION_CAPACITY = 10_000;

/** What applying an operation produced: the applicator's value, or what it threw. */
export type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

/** What to do with an operation of a session, decided identically on every node. */
export type Verdict =
  /** New: apply it, then `record` the outcome. */
  | { readonly kind: 'apply' }
  /** Applied before: answer with the stored outcome, do not apply again. */
  | { readonly kind: 'duplicate'; readonly outcome: Outcome }
  /** Applied before and its outcome already delivered, or abandoned by its client: skip it. */
  | { readonly kind: 'stale' }
  /** The session is unknown (expired, or never opened): skip it; its client must open a new one. */
  | { readonly kind: 'expired' };

/** A session table as a snapshot holds it: sessions in least-recently-used order, with their outcomes. */
export type SessionTableState = readonly {
  readonly session: number;
  readonly floor: number;
  readonly outcomes: readonly (readonly [number, Outcome])[];
}[];

interface SessionState {
  /** Every number below this is settled: applied and answered, or abandoned. */
  floor: number;
  /**
   * Outcomes of operations applied at or above the floor, kept until the client moves past them: a
   * window, as numbers come about in order and leave in order as the floor rises.
   */
  readonly outcomes: SeqWindow<Outcome>;
}

const APPLY: Verdict = Object.freeze({ kind: 'apply' });
const STALE: Verdict = Object.freeze({ kind: 'stale' });
const EXPIRED: Verdict = Object.freeze({ kind: 'expired' });

/**
 * The replicated record of client sessions (Raft thesis §6.3): for each session, the outcomes of its
 * operations that its client may still ask about. Every node builds the same table from the same log,
 * so every node decides alike whether an operation is new or a retry.
 *
 * A session's id is the index of the entry that opened it, unique for the life of the log. At most
 * `capacity` sessions are kept; opening one more expires the least recently used, a rule that
 * depends on the log alone (the thesis's LRU alternative, §6.3).
 */
export class SessionTable {
  /** Sessions in least-recently-used order: the first key is the next to expire. */
  private readonly sessions = new Map<number, SessionState>();
  /** The most recently used session (the last key of `sessions`), which using again moves nowhere. */
  private newest: number | undefined;

  constructor(private readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`session capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.sessions.size;
  }

  has(session: number): boolean {
    return this.sessions.has(session);
  }

  /** Opens the session whose id is `index`, the index of the entry that asked for it. */
  open(index: number): void {
    // Ids are entry indexes, so never opened twice; were one, it would keep its place, as a Map's key does.
    if (!this.sessions.has(index)) this.newest = index;
    this.sessions.set(index, newSession(1));
    if (this.sessions.size > this.capacity) this.sessions.delete(this.sessions.keys().next().value!);
  }

  /**
   * Decides about operation `seq` of `session`. `lowestOutstanding` is the lowest number its client
   * still waits for: outcomes below it are dropped, and anything below it that arrives later is stale.
   */
  verdict(session: number, seq: number, lowestOutstanding: number): Verdict {
    const state = this.sessions.get(session);
    if (state === undefined) return EXPIRED;
    if (session !== this.newest) {
      this.sessions.delete(session); // re-inserted last: most recently used
      this.sessions.set(session, state);
      this.newest = session;
    }
    if (lowestOutstanding > state.floor) {
      state.floor = lowestOutstanding;
      state.outcomes.deleteBelow(lowestOutstanding);
    }
    const stored = state.outcomes.get(seq);
    if (stored !== undefined) return { kind: 'duplicate', outcome: stored };
    if (seq < state.floor) return STALE;
    return APPLY;
  }

  /** Whether operation `seq` of `session` needs no applying: applied already, or given up by its client. Changes nothing. */
  settled(session: number, seq: number): boolean {
    const state = this.sessions.get(session);
    return state !== undefined && (seq < state.floor || state.outcomes.has(seq));
  }

  /** Stores what operation `seq` of `session` produced, for its retries. */
  record(session: number, seq: number, outcome: Outcome): void {
    this.sessions.get(session)?.outcomes.set(seq, outcome);
  }

  /** Every session, for a snapshot, with its outcomes in ascending order of number; the outcomes are shared, not copied, so serialize the result at once. */
  export(): SessionTableState {
    return [...this.sessions].map(([session, state]) => ({ session, floor: state.floor, outcomes: state.outcomes.entries() }));
  }

  /** Replaces every session with those of a snapshot. */
  import(state: SessionTableState): void {
    this.sessions.clear();
    this.newest = undefined;
    for (const { session, floor, outcomes } of state) {
      const imported = newSession(floor);
      for (const [seq, outcome] of outcomes) imported.outcomes.set(seq, outcome);
      this.sessions.set(session, imported);
      this.newest = session;
    }
  }
}

function newSession(floor: number): SessionState {
  return { floor, outcomes: new SeqWindow() };
}
