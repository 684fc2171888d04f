import { CLOCK_KEYWORDS, NONDETERMINISTIC_FUNCTIONS, TIME_FUNCTIONS, timeCallProblem } from './nondeterminism.ts';
import { tokenizeSql, type SqlToken } from './sql-tokens.ts';

const USE_A_QUERY = 'it changes nothing: run it as a query (graft query, POST /sql/query)';
const OWN_TRANSACTION = 'each command runs in a transaction of its own, so BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE are not commands';

/** Statements that are not commands, by their first keyword, and why. */
const NOT_COMMANDS: ReadonlyMap<string, string> = new Map([
  ['select', `SELECT: ${USE_A_QUERY}`],
  ['values', `VALUES: ${USE_A_QUERY}`],
  ['explain', `EXPLAIN: ${USE_A_QUERY}`],
  ['pragma', "PRAGMA changes settings of one replica's connection, which are not replicated (a PRAGMA that reads, such as table_info, runs as a query)"],
  ['attach', 'ATTACH opens a database outside the replicated one'],
  ['detach', 'DETACH closes a database outside the replicated one'],
  ['vacuum', "VACUUM cannot run inside a command's transaction"],
  ...['begin', 'commit', 'end', 'rollback', 'savepoint', 'release'].map((word): [string, string] => [word, OWN_TRANSACTION]),
]);

/** Words after which a name followed by `(` is a table or a view, not a function call: `INSERT INTO random(x)`. */
const BEFORE_TABLE_NAMES = new Set(['table', 'into', 'exists', 'references', 'view']);

/**
 * Why `sql` may not be proposed as a command, or null when it may: it must be one statement that
 * writes, outside any transaction control, and give the same result on every replica (see
 * nondeterminism.ts). A pure function of the text, so every replica that checks a command agrees.
 * It reads the text only: a value that reads the clock at run time (a column holding 'now') is
 * caught by the applicator's safety net instead.
 */
export function commandProblem(sql: string): string | null {
  const tokens = tokenizeSql(sql);
  const end = statementEnd(tokens);
  const statement = end < 0 ? tokens : tokens.slice(0, end);
  if (statement.length === 0) return 'the statement is empty';
  if (end >= 0 && tokens.slice(end).some((t) => !(t.kind === 'punct' && t.text === ';'))) {
    return 'a command is one statement: send them one at a time';
  }
  const first = statement[0]!;
  const notCommand = first.kind === 'word' ? NOT_COMMANDS.get(first.text.toLowerCase()) : undefined;
  if (notCommand !== undefined) return notCommand;
  if (usesTempSchema(statement)) return TEMP_OBJECTS;
  return nondeterminismIn(statement);
}

const TEMP_OBJECTS = "temporary tables, views and triggers belong to one replica's connection and are not replicated: create them without TEMP";

/** Whether the statement creates a TEMP object or names the `temp` schema (`temp.t`). */
function usesTempSchema(tokens: readonly SqlToken[]): boolean {
  const word = (i: number): string => (tokens[i]?.kind === 'word' ? tokens[i]!.text.toLowerCase() : '');
  if (word(0) === 'create' && (word(1) === 'temp' || word(1) === 'temporary')) return true;
  return tokens.some((t, i) => t.kind !== 'punct' && t.text.toLowerCase() === 'temp' && tokens[i + 1]?.text === '.' && tokens[i - 1]?.text !== '.');
}

/**
 * The index of the `;` that ends the first statement, or -1 when none does. The body of CREATE
 * TRIGGER holds statements of its own, each ending in `;`, between BEGIN and END (CASE ... END
 * may nest within them).
 */
function statementEnd(tokens: readonly SqlToken[]): number {
  const words = tokens.slice(0, 3).map((t) => (t.kind === 'word' ? t.text.toLowerCase() : ''));
  const trigger = words[0] === 'create' && (words[1] === 'trigger' || words[2] === 'trigger');
  let depth = 0;
  for (const [i, token] of tokens.entries()) {
    if (token.kind === 'punct' && token.text === ';' && depth === 0) return i;
    if (!trigger || token.kind !== 'word') continue;
    const word = token.text.toLowerCase();
    if (word === 'begin' || word === 'case') depth++;
    else if (word === 'end' && depth > 0) depth--;
  }
  return -1;
}

/** Why the statement of `tokens` gives replicas different results, or null: its first nondeterministic call or keyword. */
export function nondeterminismIn(tokens: readonly SqlToken[]): string | null {
  // In CREATE INDEX, `ON t(` names a table; elsewhere `ON` starts an expression (`JOIN ... ON random() < 0.5`).
  const createsIndex = tokens.slice(0, 3).some((t) => t.kind === 'word' && t.text.toLowerCase() === 'index');
  for (const [i, token] of tokens.entries()) {
    if (token.kind !== 'word' && token.kind !== 'quoted') continue;
    const name = token.text.toLowerCase();
    if (token.kind === 'word' && CLOCK_KEYWORDS.has(name)) return CLOCK_KEYWORDS.get(name)!;
    if (!isCall(tokens, i, createsIndex)) continue;
    const always = NONDETERMINISTIC_FUNCTIONS.get(name);
    if (always !== undefined) return always;
    if (TIME_FUNCTIONS.has(name)) {
      const { argumentCount, strings } = callArguments(tokens, i + 1);
      const problem = timeCallProblem(name, argumentCount, strings);
      if (problem !== null) return problem;
    }
  }
  return null;
}

/** Whether the name at `i` calls a function: `(` follows, and it is not a table after a keyword (`INTO t(`) or a schema (`main.t(`). */
function isCall(tokens: readonly SqlToken[], i: number, createsIndex: boolean): boolean {
  const next = tokens[i + 1];
  if (next?.kind !== 'punct' || next.text !== '(') return false;
  const before = tokens[i - 1];
  if (before === undefined) return true;
  if (before.kind === 'punct' && before.text === '.') return false;
  const word = before.kind === 'word' ? before.text.toLowerCase() : '';
  return !(BEFORE_TABLE_NAMES.has(word) || (createsIndex && word === 'on'));
}

/** The arguments of the call whose `(` is at `open`: how many, and every string literal among them (at any depth). */
function callArguments(tokens: readonly SqlToken[], open: number): { argumentCount: number; strings: string[] } {
  const strings: string[] = [];
  let depth = 0;
  let commas = 0;
  let empty = true;
  for (let i = open; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && token.text === '(') depth++;
    else if (token.kind === 'punct' && token.text === ')') {
      if (--depth === 0) break;
    } else if (depth === 1 && token.kind === 'punct' && token.text === ',') commas++;
    if (i > open) empty = false;
    if (token.kind === 'string') strings.push(token.text);
  }
  return { argumentCount: empty ? 0 : commas + 1, strings };
}
