import type { LogPosition } from '../core/raft.ts';
import type { Command } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import { ALREADY_APPLIED } from './leader-copies.ts';
import { SeqWindow } from './seq-window.ts';
import type { Outcome, Verdict } from './session-table.ts';

/**
 * Appends a command's entry through the leader, and tells `landing` where it landed, or why not,
 * once and never before `route` returns. TIMEOUT_OUTCOME_UNKNOWN means no answer came (the entry may
 * or may not be in a log); any other refusal is final.
 */
export type Route = (command: Command, landing: Landing) => void;

/** Told where a command's entry landed, or why it did not. An object, not a promise: one per operation is already the caller's. */
export interface Landing {
  landed(position: LogPosition): void;
  refused(error: unknown): void;
}

/** Who waits for an operation's outcome: told once, by one of the two. */
export interface OperationWaiter {
  /** A copy of the operation was applied (or had been): its outcome. */
  settled(outcome: Outcome): void;
  /** The operation's outcome cannot be known (the session expired, the node stopped) or it was refused. */
  failed(error: Error): void;
}

/**
 * This instance's side of a client session (Raft thesis §6.3): it opens a session in the log, numbers
 * operations, and sends an operation again whenever it cannot be sure a copy will be applied: when
 * the leader did not answer, when the leader changed, when another entry replaced its copy. The
 * replicated SessionTable applies only the first copy that commits and answers the others with its
 * outcome, so an operation is applied at most once however often it is sent.
 */
export class ClientSession {
  /** The session's id once its opening entry is applied; null before (or after it expired). */
  private id: number | null = null;
  /** Where opening entries landed; the first applied at one of these is ours. */
  private openings: LogPosition[] = [];
  private opening = false;
  private nextSeq = 1;
  /** Operations not yet answered, by number. */
  private readonly pending = new SeqWindow<PendingOperation>();
  /** Which pending operation's copy sits at a log index, to notice when another entry replaces it. */
  private readonly byIndex = new SeqWindow<number>();
  private stopped = false;

  constructor(
    private readonly route: Route,
    /** The term of the entry applied at `index`, or undefined when `index` is not applied yet. */
    private readonly appliedTerm: (index: number) => number | undefined,
  ) {}

  /** Opens the session now, so the first operation need not wait for it (`run` opens one too). */
  open(): void {
    if (this.opening || this.id !== null) return;
    this.opening = true;
    this.sendOpening();
  }

  /**
   * Starts operation `op` (serialized); `waiter` is told its outcome once a copy of it is applied.
   * Returns its number in the session. A waiter, not a promise: the caller has a promise of its own
   * to settle, and one per operation is enough.
   */
  run(op: string, waiter: OperationWaiter): number {
    const seq = this.nextSeq++;
    this.pending.set(seq, new PendingOperation(this, seq, op, waiter));
    if (this.id !== null) this.send(seq);
    else this.open();
    return seq;
  }

  /**
   * The caller stopped waiting for `seq`: no more copies are sent. Once a later operation tells the
   * table that `seq` is no longer outstanding, copies still on their way are skipped.
   */
  abandon(seq: number): void {
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.pending.delete(seq);
    if (p.position !== null) this.byIndex.delete(p.position.index);
  }

  /** Every applied entry passes here: an opening entry of ours opens the session; a replaced copy is sent again. */
  entryApplied(index: number, term: number): void {
    if (this.openings.some((p) => p.index === index && p.term === term)) {
      this.opened(index);
      return;
    }
    if (this.openings.some((p) => p.index === index)) {
      // Another entry took our opening's place (§5.3: a new leader overwrote it): ask again.
      this.openings = this.openings.filter((p) => p.index !== index);
      if (this.openings.length === 0 && this.id === null) this.reopen();
      return;
    }
    const seq = this.byIndex.get(index);
    if (seq === undefined) return;
    this.byIndex.delete(index);
    const p = this.pending.get(seq);
    if (p?.position?.index === index && p.position.term !== term) this.send(seq);
  }

  /** The table's verdict on a copy of one of this session's operations, and the outcome if applied. */
  settled(session: number, seq: number, verdict: Verdict, outcome: Outcome | null): void {
    if (session !== this.id) return;
    if (verdict.kind === 'expired') {
      this.expire();
      return;
    }
    const p = this.pending.get(seq);
    const result = verdict.kind === 'duplicate' ? verdict.outcome : outcome;
    if (p === undefined || result === null) return;
    this.abandon(seq);
    p.waiter.settled(result);
  }

  /** A new leader is known: copies sent to the old one may be lost, so send them again. */
  leaderChanged(): void {
    if (this.id === null) {
      // Only an opening the old leader appended can be lost with it; one not answered yet is still on its way.
      if (this.openings.length > 0) this.reopen();
      return;
    }
    for (const p of this.pending.values()) if (p.position !== null) this.send(p.seq);
  }

  /**
   * The state was replaced by a snapshot: entries this session waited to see applied may lie inside
   * it, never passing `entryApplied`. An opening inside it is judged by the restored terms; operations
   * are sent again, and the restored table answers a copy applied before with its outcome.
   */
  snapshotRestored(): void {
    if (this.id === null) {
      const mine = this.openings.find((p) => this.appliedTerm(p.index) === p.term);
      if (mine !== undefined) return this.opened(mine.index);
      const waiting = this.openings.length;
      this.openings = this.openings.filter((p) => this.appliedTerm(p.index) === undefined);
      if (waiting > 0 && this.openings.length === 0) this.reopen();
      return;
    }
    for (const p of this.pending.values()) if (p.position !== null && this.appliedTerm(p.position.index) !== undefined) this.send(p.seq);
  }

  rejectAll(error: Error): void {
    this.stopped = true;
    for (const p of this.pending.values()) p.waiter.failed(error);
    this.pending.clear();
    this.byIndex.clear();
  }

  /** The lowest number still waited for: everything below is settled (thesis §6.3). */
  private lowestOutstanding(): number {
    return this.pending.firstKey() ?? this.nextSeq;
  }

  private reopen(): void {
    this.openings = [];
    this.sendOpening();
  }

  private opened(index: number): void {
    this.id = index;
    this.openings = [];
    this.opening = false;
    for (const p of this.pending.values()) this.send(p.seq);
  }

  private sendOpening(): void {
    this.route(
      { kind: 'session' },
      {
        landed: (position) => {
          if (this.id !== null || !this.opening) return;
          // The answer can come after the entry was applied (messages overtake each other).
          const applied = this.appliedTerm(position.index);
          if (applied === undefined) this.openings.push(position);
          else if (applied === position.term) this.opened(position.index);
          else if (this.openings.length === 0) this.reopen();
        },
        refused: (error) => {
          if (this.stopped || this.id !== null) return;
          if (isUnanswered(error)) this.sendOpening();
          else this.failAll(error);
        },
      },
    );
  }

  private send(seq: number): void {
    const p = this.pending.get(seq);
    const id = this.id;
    if (p === undefined || id === null) return;
    if (p.position !== null) this.byIndex.delete(p.position.index);
    p.position = null;
    p.sentIn = id;
    this.route({ kind: 'normal', data: p.op, stamp: { session: id, seq, lowestOutstanding: this.lowestOutstanding() } }, p);
  }

  /** Where a copy of operation `seq` (sent in session `id`) landed; ignored once the operation or session moved on. */
  copyLanded(p: PendingOperation, seq: number, id: number, position: LogPosition): void {
    // Applied already: the committed first copy will be applied here too, and answer.
    if (this.pending.get(seq) !== p || this.id !== id || position.index === ALREADY_APPLIED.index) return;
    // Applied there already: if it was this copy, it answered; if another entry took its place, send again.
    const applied = this.appliedTerm(position.index);
    if (applied !== undefined) {
      if (applied !== position.term) this.send(seq);
      return;
    }
    p.position = position;
    this.byIndex.set(position.index, seq);
  }

  /** Why a copy of operation `seq` did not land: unanswered, it is sent again; refused, the operation fails. */
  copyRefused(p: PendingOperation, seq: number, id: number, error: unknown): void {
    if (this.pending.get(seq) !== p || this.id !== id) return;
    if (isUnanswered(error)) this.send(seq);
    else {
      this.abandon(seq);
      p.waiter.failed(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The table no longer knows this session: the outcome of what is pending is unknown; later operations open a new one. */
  private expire(): void {
    this.id = null;
    this.opening = false;
    const error = new GraftError('SESSION_EXPIRED', 'the client session expired before the operation was answered; it may or may not have been applied');
    this.failAll(error);
  }

  private failAll(error: unknown): void {
    const pending = this.pending.values();
    this.pending.clear();
    this.byIndex.clear();
    for (const p of pending) p.waiter.failed(error instanceof Error ? error : new Error(String(error)));
  }
}

function isUnanswered(error: unknown): boolean {
  return error instanceof GraftError && error.code === 'TIMEOUT_OUTCOME_UNKNOWN';
}

/**
 * An operation not yet answered, and the landing of its copies: every copy is sent in the session
 * the operation was first sent in (the session changes only when it expires, which ends every
 * operation), so the operation itself can tell where each landed.
 */
class PendingOperation implements Landing {
  /** Where the latest copy landed, once the leader said so. */
  position: LogPosition | null = null;
  /** The session its copies were sent in. */
  sentIn = 0;

  constructor(
    private readonly session: ClientSession,
    readonly seq: number,
    readonly op: string,
    readonly waiter: OperationWaiter,
  ) {}

  landed(position: LogPosition): void {
    this.session.copyLanded(this, this.seq, this.sentIn, position);
  }

  refused(error: unknown): void {
    this.session.copyRefused(this, this.seq, this.sentIn, error);
  }
}
