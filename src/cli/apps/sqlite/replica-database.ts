import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, Statement, Transaction } from 'better-sqlite3';
import { installDeterministicFunctions } from './deterministic-functions.ts';
import type { DatabaseConstructor } from './load-sqlite.ts';
import { bindable, REFUSED_CODE, SqlError, type SqlCell, type SqlCommand, type SqlOutcome, type SqlParams, type SqlRows } from './sql-command.ts';
import { commandProblem } from './write-check.ts';

/** A query may answer at most this many rows by default: a bigger answer would hold the node (and its heartbeats) too long. */
export const MAX_QUERY_ROWS = 10_000;

/** A statement a replica could not run for reasons of its own (a full disk), not the statement's: it must not go on applying. */
const LOCAL_FAILURES = /^SQLITE_(IOERR|FULL|CORRUPT|NOMEM|CANTOPEN|READONLY|BUSY|LOCKED|NOTADB|PERM|PROTOCOL)/;

/** The open connections: one applies commands, one answers queries (read-only). */
interface Connections {
  readonly writer: Database;
  readonly reader: Database;
  readonly apply: Transaction<(statement: Statement, params: SqlParams) => { changes: number; lastInsertRowid: number | bigint }>;
}

/**
 * One replica's SQLite database, in `dir` (`<data dir>/<id>/sqlite`). Graft restores a node from
 * its newest snapshot and replays the log after it at every start, so the file is made anew then:
 * it is the state machine's working copy, not a second source of truth (durability is the log's
 * job, hence `synchronous = OFF`). It is opened on first use, once Graft has claimed the data
 * directory.
 *
 * Commands run in log order on the writer, each in a transaction of its own; queries on a separate
 * read-only connection (WAL mode lets it read while commands are applied). Snapshots copy the
 * database with SQLite's backup API, from a read transaction opened when Graft asks, so the copy
 * is the database exactly at that point of the log while applying goes on.
 */
export class ReplicaDatabase {
  private readonly path: string;
  private connections: Connections | null = null;
  /** A connection of SQLite's own functions, for the writer's deterministic date and time functions. */
  private builtins: Database | null = null;
  private wiped = false;
  /** Why this replica stopped applying, once a statement failed for a reason of its own. */
  private failure: Error | null = null;
  /** Snapshot copies in progress: a restore waits for them before it replaces the file they read. */
  private readonly copies = new Set<Promise<unknown>>();
  private copiesMade = 0;

  constructor(
    private readonly dir: string,
    private readonly Database: DatabaseConstructor,
    private readonly maxQueryRows = MAX_QUERY_ROWS,
  ) {
    this.path = join(dir, 'db.sqlite');
  }

  /**
   * The applicator: runs one command and returns its outcome, the same on every replica (see
   * SqlOutcome). Throws only when this replica failed on its own (I/O, a full disk): it then
   * refuses every later command, since its state no longer follows the log.
   */
  apply(command: SqlCommand): SqlOutcome {
    if (this.failure !== null) throw new Error(`this replica's database failed earlier and applies nothing more: ${this.failure.message}`);
    // Checked again here: the same text gives the same answer on every replica, whoever proposed it.
    const problem = commandProblem(command.sql);
    if (problem !== null) return { ok: false, error: problem, code: REFUSED_CODE };
    const { writer, apply } = this.open();
    try {
      const { changes, lastInsertRowid } = apply(writer.prepare(command.sql), command.params);
      return { ok: true, changes, lastInsertRowid: Number(lastInsertRowid) };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && LOCAL_FAILURES.test(code)) {
        this.failure = error as Error;
        throw error;
      }
      return { ok: false, error: (error as Error).message, code: typeof code === 'string' ? code : 'SQLITE_MISUSE' };
    }
  }

  /** Runs a statement that reads, on the read-only connection; throws a SqlError when it is refused or fails. */
  query(sql: string, params: SqlParams): SqlRows {
    const { reader } = this.open();
    let statement: Statement<unknown[], unknown[]>;
    try {
      statement = reader.prepare<unknown[], unknown[]>(sql);
    } catch (error) {
      throw sqliteError(error);
    }
    if (!statement.readonly) throw new SqlError('this statement writes: send it as a command (graft command, POST /sql/command)', REFUSED_CODE);
    if (!statement.reader) throw new SqlError('this statement returns no rows: a query is a SELECT (or a PRAGMA that reads)', REFUSED_CODE);
    const rows: SqlCell[][] = [];
    const args = bindable(params);
    try {
      for (const row of Array.isArray(args) ? statement.raw(true).iterate(...args) : statement.raw(true).iterate(args)) {
        if (rows.length === this.maxQueryRows)
          throw new SqlError(`the query returns more than ${this.maxQueryRows} rows: add a LIMIT, or page with OFFSET`, REFUSED_CODE);
        rows.push(row.map(cell));
      }
    } catch (error) {
      if (error instanceof SqlError) throw error;
      throw sqliteError(error);
    }
    return { columns: statement.columns().map((c) => c.name), rows };
  }

  /**
   * GraftOptions.snapshot: the database as it is now, between two applies. A read transaction on a
   * connection of its own pins this state; SQLite's backup API copies it to a file while applying
   * goes on; the file's bytes are streamed, then it is deleted.
   */
  snapshot(): AsyncIterable<Uint8Array> {
    this.open();
    const source = new this.Database(this.path, { readonly: true });
    try {
      source.exec('BEGIN');
      source.prepare('SELECT count(*) FROM sqlite_schema').get(); // starts the read transaction now
    } catch (error) {
      source.close();
      throw error;
    }
    const file = join(this.dir, `snapshot-${++this.copiesMade}.tmp`);
    // Started at once, not when the bytes are first asked for: the transaction must not stay open.
    const copy = source.backup(file).finally(() => source.close());
    this.copies.add(copy);
    void copy.then(
      () => this.copies.delete(copy),
      () => this.copies.delete(copy),
    );
    const copied = copy.then(() => file);
    copied.catch(() => {}); // the stream reports a failed copy, if it is read; unread, the failure must not end the process
    return streamAndDelete(copied);
  }

  /** GraftOptions.restore: replaces the database with a snapshot's (a database file's bytes). */
  async restore(data: AsyncIterable<Uint8Array>): Promise<void> {
    this.prepareDir();
    await Promise.allSettled([...this.copies]);
    const received = join(this.dir, 'restore.tmp');
    await pipeline(Readable.from(data), createWriteStream(received));
    if (!(await isSqliteFile(received))) {
      rmSync(received, { force: true });
      throw new Error('the snapshot is not a SQLite database: its bytes do not begin with the SQLite header');
    }
    this.closeConnections();
    for (const suffix of ['', '-wal', '-shm']) rmSync(this.path + suffix, { force: true });
    renameSync(received, this.path);
    this.failure = null;
    this.open();
  }

  /** Closes every connection; safe to call twice. */
  close(): void {
    this.closeConnections();
    this.builtins?.close();
    this.builtins = null;
  }

  private open(): Connections {
    if (this.connections !== null) return this.connections;
    this.prepareDir();
    const writer = new this.Database(this.path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = OFF');
    writer.pragma('foreign_keys = ON');
    this.builtins ??= new this.Database(':memory:');
    installDeterministicFunctions(writer, this.builtins);
    // SQLite keeps the last inserted rowid per connection, across statements: inserting into this
    // table of the connection's own sets it to 0 before each command, so an UPDATE answers 0 on
    // every replica, not whatever that replica's connection inserted last.
    writer.exec('CREATE TEMP TABLE graft_rowid (x)');
    const resetRowid = writer.prepare('INSERT OR REPLACE INTO temp.graft_rowid (rowid) VALUES (0)');
    const apply = writer.transaction((statement: Statement, params: SqlParams) => {
      resetRowid.run();
      const args = bindable(params);
      return Array.isArray(args) ? statement.run(...args) : statement.run(args);
    });
    const reader = new this.Database(this.path, { readonly: true });
    this.connections = { writer, reader, apply };
    return this.connections;
  }

  /** At the first use since the process started: the files of an earlier run go (see the class comment). */
  private prepareDir(): void {
    if (this.wiped) return;
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    this.wiped = true;
  }

  private closeConnections(): void {
    this.connections?.reader.close();
    this.connections?.writer.close();
    this.connections = null;
  }
}

/** The first bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** Whether the file begins with the SQLite header (read without opening it as a database, which would leave -wal and -shm files). */
async function isSqliteFile(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(SQLITE_HEADER.length), 0, SQLITE_HEADER.length, 0);
    return bytesRead === SQLITE_HEADER.length && buffer.equals(SQLITE_HEADER);
  } finally {
    await file.close();
  }
}

/** A SqlError of what better-sqlite3 threw: SQLite's message and code (SQLITE_MISUSE for the driver's own refusals, a wrong parameter count). */
function sqliteError(error: unknown): SqlError {
  const code = (error as { code?: unknown }).code;
  return new SqlError((error as Error).message, typeof code === 'string' ? code : 'SQLITE_MISUSE');
}

/** A value of a query's answer as JSON carries it. */
function cell(value: unknown): SqlCell {
  if (Buffer.isBuffer(value)) return { blob: value.toString('base64') };
  if (typeof value === 'bigint') return Number(value);
  return value as string | number | null;
}

/** The bytes of the file `path` resolves to, then the file is deleted, read to the end or not. */
async function* streamAndDelete(path: Promise<string>): AsyncGenerator<Uint8Array> {
  const file = await path;
  try {
    for await (const chunk of createReadStream(file)) yield chunk as Buffer;
  } finally {
    rmSync(file, { force: true });
  }
}
