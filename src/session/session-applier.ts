import type { Command, Entry } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import type { ClientSession } from './client-session.ts';
import type { LeaderCopies } from './leader-copies.ts';
import { decodeLegacyCommand, isLegacyCommand } from './legacy-command.ts';
import type { Outcome, SessionTable, Verdict } from './session-table.ts';

/** What the apply path works with. */
export interface SessionApplierParts {
  readonly sessions: SessionTable;
  /** This instance's own session, told of every verdict so that it can answer its callers. */
  readonly session: ClientSession;
  readonly leaderCopies: LeaderCopies;
  /** Runs the user's applicator on a serialized operation. */
  readonly run: (op: string, entry: Entry) => Outcome;
  /** Reports what no caller's promise can: a malformed entry. */
  readonly report: (error: Error) => void;
  /** Test only: apply every copy, as if there were no session table (see GraftOptions.sabotage). */
  readonly applyCopies?: boolean;
}

/**
 * The apply path of exactly-once (thesis §6.3): a session entry opens a session; a normal entry runs
 * its operation, unless its stamp names an operation the session table says was applied before (a
 * copy). Every node runs this on the same log, so every node applies the same operations.
 */
export class SessionApplier {
  constructor(private readonly parts: SessionApplierParts) {}

  apply(entry: Entry): void {
    const command = isLegacyCommand(entry) ? this.decodeLegacy(entry) : entry;
    if (command === null) return;
    const { sessions, session, leaderCopies, run } = this.parts;
    switch (command.kind) {
      case 'session':
        sessions.open(entry.index);
        return;
      case 'normal': {
        const stamp = command.stamp;
        // Unstamped: an operation logged before sessions existed.
        if (stamp === undefined) {
          run(command.data, entry);
          return;
        }
        const verdict: Verdict =
          this.parts.applyCopies === true && sessions.has(stamp.session)
            ? { kind: 'apply' }
            : sessions.verdict(stamp.session, stamp.seq, stamp.lowestOutstanding);
        const outcome = verdict.kind === 'apply' ? run(command.data, entry) : null;
        if (outcome !== null) sessions.record(stamp.session, stamp.seq, outcome);
        leaderCopies.applied(stamp.session, stamp.seq);
        session.settled(stamp.session, stamp.seq, verdict, outcome);
      }
    }
  }

  /** The command of an entry from an older version's log, or null (reported) when its header is malformed. */
  private decodeLegacy(entry: Entry): Command | null {
    try {
      return decodeLegacyCommand(entry.data);
    } catch (error) {
      // Every node reads the same bytes, so every node skips this entry alike.
      this.parts.report(new GraftError('APPLY_FAILED', `entry ${entry.index} was skipped: ${(error as Error).message}`));
      return null;
    }
  }
}
