import type { Entry } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import type { Serializer } from '../serializer.ts';
import type { ClientSession } from '../session/client-session.ts';
import type { LeaderCopies } from '../session/leader-copies.ts';
import { SessionApplier } from '../session/session-applier.ts';
import type { Outcome, SessionTable } from '../session/session-table.ts';
import { AppliedTerms } from './applied-terms.ts';
import { AppliedWatch } from './applied-watch.ts';
import { decodeGraftState, encodeGraftState } from './graft-state.ts';
import { readSnapshotBytes, snapshotBytes } from './state-snapshot.ts';
import type { LogPosition } from '../core/raft.ts';

/** What an Applier works with. */
export interface ApplierParts<Op, Result> {
  readonly applicator: (op: Op, position: LogPosition) => Result;
  readonly serializer: Serializer<Op>;
  /** The application's hooks (GraftOptions.snapshot and .restore); without them no snapshot is taken. */
  readonly hooks: StateMachineHooks | null;
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

/** How the application's state goes into a snapshot and comes back from one (see GraftOptions). */
export interface StateMachineHooks {
  readonly snapshot: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  readonly restore: (data: AsyncIterable<Uint8Array>) => Promise<void> | void;
}

/**
 * Applies committed entries to the user's state machine, in log order, each operation once: through
 * the session table, which answers copies with the outcome of the first (thesis §6.3). Also wakes the
 * callers waiting for an index to be applied (read barriers).
 */
export class Applier<Op, Result> {
  private readonly sessionApplier: SessionApplier;
  private readonly watch = new AppliedWatch();
  private readonly terms = new AppliedTerms();

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
      this.sessionApplier.apply(entry);
      this.terms.record(entry.index, entry.term);
      this.parts.session.entryApplied(entry.index, entry.term);
    }
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      this.watch.applied(last.index);
      this.parts.onApplied(last.index);
    }
  }

  /** The term of the entry applied at `index`, also after the log was compacted; undefined when not applied (or too old). */
  termAt(index: number): number | undefined {
    return this.terms.termAt(index);
  }

  /** The last index applied to the state machine (the state restored from a snapshot included). */
  appliedIndex(): number {
    return this.terms.appliedIndex();
  }

  /** Whether snapshots can be taken: the application gave both hooks. */
  canSnapshot(): boolean {
    return this.parts.hooks !== null;
  }

  /**
   * The state as applied now, as a snapshot's bytes. Graft's part is captured here and now, and the
   * application's hook is called here and now, so applying may go on while the bytes stream.
   */
  capture(): AsyncIterable<Uint8Array> {
    const hooks = this.parts.hooks;
    if (hooks === null) throw new GraftError('SNAPSHOT_UNSUPPORTED', 'no snapshot hook: give GraftOptions.snapshot and .restore to take snapshots');
    return snapshotBytes(encodeGraftState({ sessions: this.parts.sessions.export(), terms: this.terms.export() }), hooks.snapshot());
  }

  /** Replaces the state with a snapshot's, covering everything up to `index`. */
  async restore(data: AsyncIterable<Uint8Array>, index: number): Promise<void> {
    const hooks = this.parts.hooks;
    if (hooks === null) {
      throw new GraftError(
        'SNAPSHOT_UNSUPPORTED',
        `this node has a snapshot (index ${index}) to restore but no restore hook: give GraftOptions.snapshot and .restore`,
      );
    }
    const { graftState, format, app } = await readSnapshotBytes(data);
    const state = decodeGraftState(graftState, format);
    await hooks.restore(app);
    this.parts.sessions.import(state.sessions);
    this.terms.import(state.terms);
    this.parts.session.snapshotRestored();
    this.watch.applied(index);
    this.parts.onApplied(index);
  }

  /** Resolves once `index` is applied. */
  until(index: number): Promise<void> {
    return this.watch.until(index, this.appliedIndex());
  }

  /** Fails every caller waiting for an index. */
  rejectAll(error: Error): void {
    this.watch.rejectAll(error);
  }

  private run(op: string, entry: Entry): Outcome {
    const { applicator, serializer } = this.parts;
    try {
      const value = applicator(serializer.fromString(op), { index: entry.index, term: entry.term });
      return value === undefined ? RETURNED_NOTHING : { ok: true, value };
    } catch (thrown) {
      const cause = thrown instanceof Error ? thrown : new Error(String(thrown));
      const error = new GraftError('APPLY_FAILED', `the applicator threw at index ${entry.index}: ${cause.message}`, { cause });
      this.parts.report(error);
      return { ok: false, error };
    }
  }
}

/** The outcome of an applicator that returned nothing, as most writes do: one object for all (outcomes are never changed). */
const RETURNED_NOTHING: Outcome = Object.freeze({ ok: true, value: undefined });
