/** A parameter's value, as JSON carries it. Booleans bind as 1 and 0, whole numbers as INTEGER. */
export type SqlValue = string | number | boolean | null;

/** A statement's parameters: positional (`?`, `?1`), or named (`:name`, `@name`, `$name`, keys written without the prefix). */
export type SqlParams = readonly SqlValue[] | { readonly [name: string]: SqlValue };

/** One statement that writes, as it goes through the log. */
export interface SqlCommand {
  readonly sql: string;
  readonly params: SqlParams;
}

/**
 * What applying a command gave; the same on every replica. A statement SQLite refused (a syntax
 * error, a constraint) is an outcome too: every replica refuses it alike, and the cluster goes on.
 */
export type SqlOutcome =
  | {
      readonly ok: true;
      /** Rows the statement inserted, updated or deleted (not counting triggers). */
      readonly changes: number;
      /** The rowid of the row an INSERT added; 0 when the statement added none. */
      readonly lastInsertRowid: number;
    }
  | {
      readonly ok: false;
      /** SQLite's message. */
      readonly error: string;
      /** SQLite's extended error code, e.g. `SQLITE_CONSTRAINT_UNIQUE`; `SQLITE_MISUSE` for a statement the driver refused. */
      readonly code: string;
    };

/** A value of a query's answer: BLOBs as base64 text in an object, so they are not mistaken for text. */
export type SqlCell = string | number | null | { readonly blob: string };

/** What a query answers: the column names, and each row's values in column order. */
export interface SqlRows {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly SqlCell[])[];
}

/** The parameters in a request, checked: an array, or an object of names, of strings, numbers, booleans and nulls. Throws an Error naming what is wrong. */
export function parseParams(value: unknown): SqlParams {
  if (value === undefined || value === null) return [];
  const check = (where: string, v: unknown): SqlValue => {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    throw new Error(`params${where} must be a string, a number, a boolean or null, got ${Array.isArray(v) ? 'an array' : typeof v}`);
  };
  if (Array.isArray(value)) return value.map((v, i) => check(`[${i}]`, v));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([name, v]) => [name, check(`.${name}`, v)]));
  throw new Error(`params must be an array (for ? placeholders) or an object (for :name placeholders), got ${typeof value}`);
}

/**
 * The parameters as better-sqlite3 binds them: whole numbers as BigInt, so that they bind as
 * INTEGER (a plain number binds as REAL), and booleans as 1 and 0.
 */
export function bindable(params: SqlParams): unknown[] | Record<string, unknown> {
  const bind = (v: SqlValue): unknown => (typeof v === 'boolean' ? BigInt(v ? 1 : 0) : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v);
  return Array.isArray(params) ? params.map(bind) : Object.fromEntries(Object.entries(params).map(([name, v]) => [name, bind(v)]));
}

/** The code of a request refused before anything ran: nondeterministic SQL, a statement of the wrong kind, bad parameters. */
export const REFUSED_CODE = 'GRAFT_REFUSED';

/** Why a command or query gave no result: refused (`code` REFUSED_CODE), or failed in SQLite (`code` its extended code, e.g. `SQLITE_CONSTRAINT_UNIQUE`). */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SqlError';
  }
}
