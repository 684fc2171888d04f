/**
 * Which SQL gives replicas different results, and why: shared by the check that refuses such a
 * command before it is proposed (write-check.ts) and by the applicator's safety net, which makes
 * every replica fail the same way should one reach the log anyway (deterministic-functions.ts).
 */

/** The words every refusal starts with, so a client can tell it from a failed statement. */
export const REFUSED = 'nondeterministic SQL refused';

/** A refusal's whole message: what differs, and what to do instead. */
export function refusal(reason: string, instead: string): string {
  return `${REFUSED}: ${reason}; ${instead}`;
}

const PASS_A_VALUE = 'compute the value in the client and pass it as a parameter';
const PASS_THE_TIME = 'pass the time as a parameter instead';

/** Functions whose result differs between replicas whatever their arguments, with the refusal of each. */
export const NONDETERMINISTIC_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['random', refusal('random() gives each replica a different number', PASS_A_VALUE)],
  ['randomblob', refusal('randomblob() gives each replica different bytes', PASS_A_VALUE)],
  // These count what one connection did; a replica restored from a snapshot has a new connection.
  ['changes', refusal("changes() depends on the history of each replica's connection", PASS_A_VALUE)],
  ['total_changes', refusal("total_changes() depends on the history of each replica's connection", PASS_A_VALUE)],
  ['last_insert_rowid', refusal("last_insert_rowid() depends on the history of each replica's connection", PASS_A_VALUE)],
]);

/** The keywords that read the clock. SQLite evaluates each by calling the function of the same name. */
export const CLOCK_KEYWORDS: ReadonlyMap<string, string> = new Map(
  ['current_time', 'current_date', 'current_timestamp'].map((name) => [name, refusal(`${name.toUpperCase()} reads each replica's own clock`, PASS_THE_TIME)]),
);

/**
 * The date and time functions, with the position of their time value: deterministic unless they
 * read the clock ('now', or no time value at all) or the time zone ('localtime', 'utc').
 * `timediff` takes two time values and has no default.
 */
export const TIME_FUNCTIONS: ReadonlyMap<string, number | null> = new Map([
  ['date', 0],
  ['time', 0],
  ['datetime', 0],
  ['julianday', 0],
  ['unixepoch', 0],
  ['strftime', 1],
  ['timediff', null],
]);

/**
 * Why a call of the time function `name` with `argumentCount` arguments, whose string arguments are
 * `strings`, gives replicas different results; null when it does not.
 */
export function timeCallProblem(name: string, argumentCount: number, strings: readonly string[]): string | null {
  const timeValueAt = TIME_FUNCTIONS.get(name);
  if (timeValueAt === undefined) return null;
  if (timeValueAt !== null && argumentCount <= timeValueAt) {
    return refusal(`${name}() without a time value reads each replica's own clock`, PASS_THE_TIME);
  }
  for (const text of strings) {
    const word = text.trim().toLowerCase();
    if (word === 'now') return refusal(`${name}('now') reads each replica's own clock`, PASS_THE_TIME);
    if (word === 'localtime' || word === 'utc') {
      return refusal(`${name}() with '${word}' depends on each replica's time zone`, 'convert between local time and UTC in the client');
    }
  }
  return null;
}
