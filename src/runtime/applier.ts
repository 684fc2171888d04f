import type { Entry } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import type { Serializer } from '../serializer.ts';
import type { ClientSession } from '../session/client-session.ts';
import type { LeaderCopies } from '../session/leader-copies.ts';
import { SessionApplier } from '../session/session-applier.ts';
import type { Outcome, SessionTable } from '../session/session-table.ts';
import { AppliedWatch } from './applied-watch.ts';
import type { LogPosition } from '../core/raft.ts';

/** What an Applier works with. */
export interface ApplierParts<Op, Result> {
  readonly applicator: (op: Op, position: LogPosition) => Result;
  readonly serializer: Serializer<Op>;
  /** The replicated session table (thesis §6.3). */
  readonly sessions: SessionTable;
  /** This instance's own session, told of every verdict so that it can answer its callers. */
  readonly session: ClientSession;
  readonly leaderCopies: LeaderCopies;
  /** Reports what no caller's promise can: an applicator that threw, a malformed entry. */
  readonly report: (error: Error) => void;
  /** Entries up to `index` are applied. */
  readonly onApplied: (index: number) => void;
  /** Test only: apply every copy, as if there were no session table. */
  readonly applyCopies?: boolean;
}

/**
 * Applies committed entries to the user's state machine, in log order, each operation once: through
 * the session table, which answers copies with the outcome of the first (thesis §6.3). Also wakes the
 * callers waiting for an index to be applied (read barriers).
 */
export class Applier<Op, Result> {
  private readonly sessionApplier: SessionApplier;
  private readonly watch = new AppliedWatch();

  constructor(private readonly parts: ApplierParts<Op, Result>) {
    this.sessionApplier = new SessionApplier({
      sessions: parts.sessions,
      session: parts.session,
      leaderCopies: parts.leaderCopies,
      run: (op, entry) => this.run(op, entry),
      report: parts.report,
      ...(parts.applyCopies === undefined ? {} : { applyCopies: parts.applyCopies }),
    });
  }

  /** Applies committed entries, in order. */
  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.kind === 'normal') this.sessionApplier.apply(entry);
      this.parts.session.entryApplied(entry.index, entry.term);
    }
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      this.watch.applied(last.index);
      this.parts.onApplied(last.index);
    }
  }

  /** Resolves once `index` is applied; at once if `current`, the applied index now, already reaches it. */
  until(index: number, current: number): Promise<void> {
    return this.watch.until(index, current);
  }

  /** Fails every caller waiting for an index. */
  rejectAll(error: Error): void {
    this.watch.rejectAll(error);
  }

  private run(op: string, entry: Entry): Outcome {
    const { applicator, serializer } = this.parts;
    try {
      return { ok: true, value: applicator(serializer.fromString(op), { index: entry.index, term: entry.term }) };
    } catch (thrown) {
      const cause = thrown instanceof Error ? thrown : new Error(String(thrown));
      const error = new GraftError('APPLY_FAILED', `the applicator threw at index ${entry.index}: ${cause.message}`, { cause });
      this.parts.report(error);
      return { ok: false, error };
    }
  }
}
