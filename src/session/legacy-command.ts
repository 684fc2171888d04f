import type { Command, Entry } from '../core/types.ts';

/**
 * Logs written by earlier versions carry a client session's fields (Raft thesis §6.3) as a text header
 * in a normal entry's data: `\u0001open` opens a session, `\u0001op:<session>:<seq>:<lowestOutstanding>:<op>`
 * is an operation of one. Entries are written with typed fields now (EntryKind 'session',
 * Entry.stamp); this reads the old form so such logs still apply alike on every node.
 */
export const LEGACY_MARK = '\u0001';
const LEGACY_OPEN_SESSION = `${LEGACY_MARK}open`;
const LEGACY_OPERATION = `${LEGACY_MARK}op:`;

/**
 * Whether `entry` may carry the old text header: a normal entry without a stamp whose data starts
 * with the header's mark (JSON and superjson never begin with it; a stamped entry is never read so).
 */
export function isLegacyCommand(entry: Entry): boolean {
  return entry.kind === 'normal' && entry.stamp === undefined && entry.data.startsWith(LEGACY_MARK);
}

/** The command an old-form entry's data means; throws an Error naming what is wrong with a malformed header. */
export function decodeLegacyCommand(data: string): Command {
  if (data === LEGACY_OPEN_SESSION) return { kind: 'session' };
  if (!data.startsWith(LEGACY_OPERATION)) throw new Error(`unknown command header ${JSON.stringify(data.slice(0, 16))}`);
  const numbers: number[] = [];
  let at = LEGACY_OPERATION.length;
  for (const name of ['session', 'seq', 'lowestOutstanding']) {
    const end = data.indexOf(':', at);
    const digits = end < 0 ? '' : data.slice(at, end);
    // Decimal without a leading zero, at most 15 digits: what the old encoder wrote.
    if (!/^[1-9][0-9]{0,14}$/.test(digits)) throw new Error(`malformed ${name} in the command header ${JSON.stringify(data.slice(0, 40))}`);
    numbers.push(Number(digits));
    at = end + 1;
  }
  const [session, seq, lowestOutstanding] = numbers as [number, number, number];
  return { kind: 'normal', data: data.slice(at), stamp: { session, seq, lowestOutstanding } };
}
