import type { Entry } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import type { ClientSession } from './client-session.ts';
import { decodeCommand, type LoggedCommand } from './command.ts';
import type { LeaderCopies } from './leader-copies.ts';
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
 * The apply path of exactly-once (thesis §6.3): each committed normal entry opens a session, or runs
 * its operation unless the session table says it is a copy of one applied before. Every node runs
 * this on the same log, so every node applies the same operations.
 */
export class SessionApplier {
  constructor(private readonly parts: SessionApplierParts) {}

  apply(entry: Entry): void {
    const { sessions, session, leaderCopies, run } = this.parts;
    let command: LoggedCommand;
    try {
      command = decodeCommand(entry.data);
    } catch (error) {
      // Every node reads the same bytes, so every node skips this entry alike.
      this.parts.report(new GraftError('APPLY_FAILED', `entry ${entry.index} was skipped: ${(error as Error).message}`));
      return;
    }
    switch (command.kind) {
      case 'open-session':
        sessions.open(entry.index);
        return;
      case 'plain':
        run(command.op, entry);
        return;
      case 'operation': {
        const verdict: Verdict =
          this.parts.applyCopies === true && sessions.has(command.session)
            ? { kind: 'apply' }
            : sessions.verdict(command.session, command.seq, command.lowestOutstanding);
        const outcome = verdict.kind === 'apply' ? run(command.op, entry) : null;
        if (outcome !== null) sessions.record(command.session, command.seq, outcome);
        leaderCopies.applied(command.session, command.seq);
        session.settled(command.session, command.seq, verdict, outcome);
      }
    }
  }
}
