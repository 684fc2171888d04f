import type { LogPosition } from '../core/raft.ts';
import { GraftError } from '../errors.ts';
import { decodeCommand, type LoggedCommand } from './command.ts';
import type { SessionTable } from './session-table.ts';

/** The answer for a copy of an operation that was applied already: nothing was appended for it. */
export const ALREADY_APPLIED: LogPosition = { index: 0, term: 0 };

/**
 * The leader's half of exactly-once (thesis §6.3): before appending, it drops copies of operations it
 * has applied already, or appended in its current term and not applied yet, and answers a copy with
 * where the first one is. Copies still reach the log across leader changes; the session table skips
 * them when they are applied.
 */
export class LeaderCopies {
  private term = 0;
  /** Operations appended in `term`, by `session:seq`, until applied. */
  private readonly appended = new Map<string, LogPosition>();

  constructor(
    private readonly sessions: SessionTable,
    private readonly append: (ops: readonly string[]) => Promise<LogPosition[]>,
    private readonly currentTerm: () => number,
  ) {}

  /** Appends what is new in `ops`; answers one position per op, ALREADY_APPLIED for those applied before. */
  async propose(ops: readonly string[]): Promise<LogPosition[]> {
    const term = this.currentTerm();
    if (term !== this.term) {
      this.term = term; // entries appended by an earlier leadership may be gone: forget them
      this.appended.clear();
    }
    const answers: (LogPosition | null)[] = [];
    const fresh: { op: string; key: string | null; at: number }[] = [];
    for (const op of ops) {
      const command = decodeOrRefuse(op);
      const key = command.kind === 'operation' ? `${command.session}:${command.seq}` : null;
      const known = command.kind !== 'operation' ? undefined : this.sessions.settled(command.session, command.seq) ? ALREADY_APPLIED : this.appended.get(key!);
      if (known === undefined) fresh.push({ op, key, at: answers.length });
      answers.push(known ?? null);
    }
    if (fresh.length > 0) {
      const positions = await this.append(fresh.map((f) => f.op));
      fresh.forEach((f, i) => {
        const position = positions[i]!;
        answers[f.at] = position;
        if (f.key !== null && position.term === this.term) this.appended.set(f.key, position);
      });
    }
    return answers as LogPosition[];
  }

  /** Operation `seq` of `session` was applied: from now on the session table answers for it. */
  applied(session: number, seq: number): void {
    if (this.appended.size > 0) this.appended.delete(`${session}:${seq}`); // empty on followers: no key to build
  }
}

/** A malformed header can only come from a faulty or hostile peer: refuse it before it reaches the log. */
function decodeOrRefuse(op: string): LoggedCommand {
  try {
    return decodeCommand(op);
  } catch (error) {
    throw new GraftError('PROTOCOL', `refused an operation: ${(error as Error).message}`);
  }
}
