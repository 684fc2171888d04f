import type { LogPosition } from '../core/raft.ts';
import type { Command } from '../core/types.ts';
import { SeqWindow } from './seq-window.ts';
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
  /**
   * Operations appended in `term`, until applied: by session, then by number. Numbers as keys, not a
   * `session:seq` string: nothing to build and hash twice per operation.
   */
  private readonly appended = new Map<number, SeqWindow<LogPosition>>();

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
    // Known copies are answered where the first one is; the rest are appended, in order.
    let known: (LogPosition | undefined)[] | null = null;
    for (let i = 0; i < commands.length; i++) {
      // Only an operation sent under a session can be a copy; everything else is appended as it comes.
      const command = commands[i]!;
      const stamp = command.kind === 'normal' ? command.stamp : undefined;
      if (stamp === undefined) continue;
      const position = this.sessions.settled(stamp.session, stamp.seq) ? ALREADY_APPLIED : this.appended.get(stamp.session)?.get(stamp.seq);
      if (position !== undefined) (known ??= new Array<LogPosition | undefined>(commands.length))[i] = position;
    }
    const fresh = known === null ? commands : commands.filter((_, i) => known[i] === undefined);
    const positions = fresh.length === 0 ? [] : await this.append(fresh);
    for (let i = 0; i < fresh.length; i++) {
      const command = fresh[i]!;
      const stamp = command.kind === 'normal' ? command.stamp : undefined;
      if (stamp !== undefined && positions[i]!.term === this.term) this.appendedIn(stamp.session).set(stamp.seq, positions[i]!);
    }
    if (known === null) return positions;
    let next = 0;
    return commands.map((_, i) => known[i] ?? positions[next++]!);
  }

  /** Operation `seq` of `session` was applied: from now on the session table answers for it. */
  applied(session: number, seq: number): void {
    // None on followers. An emptied session's map stays until the term ends: a session sends on.
    this.appended.get(session)?.delete(seq);
  }

  private appendedIn(session: number): SeqWindow<LogPosition> {
    let ofSession = this.appended.get(session);
    if (ofSession === undefined) this.appended.set(session, (ofSession = new SeqWindow()));
    return ofSession;
  }
}
