/** One token of SQL text, as far as the write check needs to tell them apart. */
export interface SqlToken {
  /**
   * `word`: a bare keyword or name (`SELECT`, `random`); `string`: a '...' literal, its value in `text`;
   * `quoted`: a "...", `...` or [...] name, its name in `text`; `punct`: one character of punctuation
   * or an operator; `other`: a number or a parameter (`?1`, `:name`).
   */
  readonly kind: 'word' | 'string' | 'quoted' | 'punct' | 'other';
  readonly text: string;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Splits SQL into tokens the way SQLite reads it, dropping whitespace and comments (`-- ...`, `/* ... *\/`).
 * Forgiving: text SQLite would refuse (an unterminated literal) still gives tokens, since SQLite
 * itself reports the syntax error when the statement runs.
 */
export function tokenizeSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'") {
      const [text, next] = quoted(sql, i, "'");
      tokens.push({ kind: 'string', text });
      i = next;
    } else if (c === '"' || c === '`') {
      const [text, next] = quoted(sql, i, c);
      tokens.push({ kind: 'quoted', text });
      i = next;
    } else if (c === '[') {
      const end = sql.indexOf(']', i);
      tokens.push({ kind: 'quoted', text: sql.slice(i + 1, end < 0 ? sql.length : end) });
      i = end < 0 ? sql.length : end + 1;
    } else if (WORD_START.test(c)) {
      const start = i;
      while (i < sql.length && WORD_PART.test(sql[i]!)) i++;
      tokens.push({ kind: 'word', text: sql.slice(start, i) });
    } else if (/[0-9.]/.test(c) && (c !== '.' || /[0-9]/.test(sql[i + 1] ?? ''))) {
      const start = i;
      while (i < sql.length && /[0-9A-Za-z_.]/.test(sql[i]!)) i++;
      tokens.push({ kind: 'other', text: sql.slice(start, i) });
    } else if (/[?:@$]/.test(c)) {
      const start = i++;
      while (i < sql.length && WORD_PART.test(sql[i]!)) i++;
      tokens.push({ kind: 'other', text: sql.slice(start, i) });
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return tokens;
}

/** The value of the literal or name quoted by `quote` at `start` (a doubled quote stands for one), and the index after it. */
function quoted(sql: string, start: number, quote: string): [string, number] {
  let value = '';
  let i = start + 1;
  while (i < sql.length) {
    const end = sql.indexOf(quote, i);
    if (end < 0) break;
    value += sql.slice(i, end);
    if (sql[end + 1] !== quote) return [value, end + 1];
    value += quote;
    i = end + 2;
  }
  return [value + sql.slice(i), sql.length];
}
