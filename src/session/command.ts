/**
 * What a normal log entry carries. Every operation a GraftInstance logs belongs to a client session
 * (Raft thesis §6.3), so the entry names the session, the operation's number in it, and the lowest
 * number the client still waits for; a session is opened by an entry of its own.
 *
 * The text form puts a short header before the serialized operation, so the operation's text is
 * stored as it is, without a second layer of escaping. The header starts with a control character
 * that JSON and superjson never begin with; an entry without it (written before sessions existed) is
 * a plain operation.
 */
export type LoggedCommand =
  | { readonly kind: 'open-session' }
  | { readonly kind: 'operation'; readonly session: number; readonly seq: number; readonly lowestOutstanding: number; readonly op: string }
  | { readonly kind: 'plain'; readonly op: string };

const MARK = '\u0001';
const OPEN_SESSION = `${MARK}open`;
const OPERATION = `${MARK}op:`;

export function encodeOpenSession(): string {
  return OPEN_SESSION;
}

export function encodeOperation(session: number, seq: number, lowestOutstanding: number, op: string): string {
  return `${OPERATION}${session}:${seq}:${lowestOutstanding}:${op}`;
}

/** Reads an entry's data; throws an Error naming what is wrong with a malformed header. */
export function decodeCommand(data: string): LoggedCommand {
  if (!data.startsWith(MARK)) return { kind: 'plain', op: data };
  if (data === OPEN_SESSION) return { kind: 'open-session' };
  if (!data.startsWith(OPERATION)) throw new Error(`unknown command header ${JSON.stringify(data.slice(0, 16))}`);
  const numbers: number[] = [];
  let at = OPERATION.length;
  for (const name of ['session', 'seq', 'lowestOutstanding']) {
    // Digits up to the next ':', read by hand: this runs for every applied entry.
    let value = 0;
    let end = at;
    for (let c = data.charCodeAt(end); c >= 48 && c <= 57; c = data.charCodeAt(++end)) value = value * 10 + (c - 48);
    if (end === at || data.charCodeAt(end) !== 58 || data.charCodeAt(at) === 48 || end - at > 15) {
      throw new Error(`malformed ${name} in the command header ${JSON.stringify(data.slice(0, 40))}`);
    }
    numbers.push(value);
    at = end + 1;
  }
  const [session, seq, lowestOutstanding] = numbers as [number, number, number];
  return { kind: 'operation', session, seq, lowestOutstanding, op: data.slice(at) };
}
