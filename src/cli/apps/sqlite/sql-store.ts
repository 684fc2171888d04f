import { GraftInstance, jsonSerializer, type GraftOptions } from '../../../index.ts';
import type { DatabaseConstructor } from './load-sqlite.ts';
import { ReplicaDatabase } from './replica-database.ts';
import { REFUSED_CODE, SqlError, type SqlCommand, type SqlOutcome, type SqlParams, type SqlRows } from './sql-command.ts';
import { commandProblem } from './write-check.ts';

/** What a SqlStore needs: GraftInstance's options, less the four the store supplies, and where its database lives. */
export type SqlStoreOptions = Omit<GraftOptions<SqlCommand, SqlOutcome>, 'applicator' | 'serializer' | 'snapshot' | 'restore'> & {
  /** The directory of this replica's database files: `<data dir>/<id>/sqlite`. */
  readonly databaseDir: string;
  /** At most this many rows in a query's answer; default MAX_QUERY_ROWS. */
  readonly maxQueryRows?: number;
};

/**
 * A SQLite database made replicated by composition: statements that write go through the log and
 * are applied by every node in the same order (ReplicaDatabase.apply); queries run on this node's
 * copy after a read barrier, so they are linearizable.
 */
export class SqlStore {
  readonly graft: GraftInstance<SqlCommand, SqlOutcome>;
  private readonly database: ReplicaDatabase;
  /** What broke this replica's copy, which stopped the node; null while it follows the log. */
  private broken: Error | null = null;

  /** `Database`: better-sqlite3's class, from `loadSqlite()`. */
  constructor(options: SqlStoreOptions, Database: DatabaseConstructor) {
    const { databaseDir, maxQueryRows, ...graftOptions } = options;
    const database = new ReplicaDatabase(databaseDir, Database, maxQueryRows);
    this.database = database;
    this.graft = new GraftInstance<SqlCommand, SqlOutcome>({
      ...graftOptions,
      applicator: (command) => {
        try {
          return database.apply(command);
        } catch (error) {
          // This copy no longer follows the log (a full disk, an I/O error): the node stops, to be
          // restarted and rebuilt from its snapshot and log, rather than serve a state the others do not have.
          this.broken ??= new Error(`this replica's database failed: ${(error as Error).message}`, { cause: error });
          setImmediate(() => void this.graft.stop());
          throw error;
        }
      },
      serializer: jsonSerializer<SqlCommand>(),
      snapshot: () => database.snapshot(),
      restore: (data) => database.restore(data),
    });
    // The connections close once the node has stopped, however it stopped: nothing is applied after.
    this.graft.once('stopped', () => database.close());
  }

  /** What broke this replica's database and stopped the node (its process then exits 1, for a supervisor to restart it), or null. */
  failure(): Error | null {
    return this.broken;
  }

  /**
   * Runs one statement that writes on every replica; resolves with its changes and the rowid it
   * inserted once it is applied here. Rejects with a SqlError before anything is proposed when the
   * statement would give replicas different results, or is not a command (see commandProblem); and
   * with SQLite's error when the statement failed (on every replica alike).
   */
  async command(sql: string, params: SqlParams = []): Promise<{ changes: number; lastInsertRowid: number }> {
    const problem = commandProblem(sql);
    if (problem !== null) throw new SqlError(problem, REFUSED_CODE);
    const outcome = await this.graft.applyOperation({ sql, params });
    if (!outcome.ok) throw new SqlError(outcome.error, outcome.code);
    return { changes: outcome.changes, lastInsertRowid: outcome.lastInsertRowid };
  }

  /** Runs a statement that reads, linearizably: after `readBarrier`, this node has applied every acknowledged command. */
  async query(sql: string, params: SqlParams = []): Promise<SqlRows> {
    await this.graft.readBarrier();
    return this.database.query(sql, params);
  }
}
