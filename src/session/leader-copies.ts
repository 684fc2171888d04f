import type { LogPosition } from '../core/raft.ts';
import type { Command } from '../core/types.ts';
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
    private readonly append: (commands: readonly Command[]) => Promise<LogPosition[]>,
    private readonly currentTerm: () => number,
  ) {}

  /** Appends what is new in `commands`; answers one position per command, ALREADY_APPLIED for those applied before. */
  async propose(commands: readonly Command[]): Promise<LogPosition[]> {
    const term = this.currentTerm();
    if (term !== this.term) {
      this.term = term; // entries appended by an earlier leadership may be gone: forget them
      this.appended.clear();
    }
    const answers: (LogPosition | null)[] = [];
    const fresh: { command: Command; key: string | null; at: number }[] = [];
    for (const command of commands) {
      // Only an operation sent under a session can be a copy; everything else is appended as it comes.
      const stamp = command.kind === 'normal' ? command.stamp : undefined;
      const key = stamp === undefined ? null : `${stamp.session}:${stamp.seq}`;
      const known = stamp === undefined ? undefined : this.sessions.settled(stamp.session, stamp.seq) ? ALREADY_APPLIED : this.appended.get(key!);
      if (known === undefined) fresh.push({ command, key, at: answers.length });
      answers.push(known ?? null);
    }
    if (fresh.length > 0) {
      const positions = await this.append(fresh.map((f) => f.command));
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
