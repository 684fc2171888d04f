import Database from 'better-sqlite3';
import { GraftInstance, jsonSerializer, type GraftOptions } from 'graft-raft';

/** One statement that writes, with the values of its `?` placeholders. */
export type SqlCommand = { readonly sql: string; readonly params: readonly (string | number | null)[] };

/** What applying it gave: the rows it changed, or SQLite's error. The same on every node. */
export type SqlResult = { readonly changes: number } | { readonly error: string };

/**
 * Functions that would give each node a different result: in a write they fail instead, and they
 * fail alike on every node. (`graft start --app sqlite` refuses such SQL before it is sent, and
 * allows the date functions when they do not read the clock.)
 */
const NONDETERMINISTIC = [
  'random',
  'randomblob',
  'current_time',
  'current_date',
  'current_timestamp',
  'date',
  'time',
  'datetime',
  'julianday',
  'unixepoch',
  'strftime',
];

/**
 * A SQLite database made replicated by composition: every statement that writes goes through
 * `applyOperation`, so every node runs the same statements in the same order. The database lives
 * in memory; Graft's log and snapshots (in `dataDir`) are what survives a restart.
 */
export class SqlStore {
  private db = openDatabase();
  readonly graft: GraftInstance<SqlCommand, SqlResult>;

  /** Takes GraftInstance's options, less the four the store supplies itself. */
  constructor(options: Omit<GraftOptions<SqlCommand, SqlResult>, 'applicator' | 'serializer' | 'snapshot' | 'restore'>) {
    this.graft = new GraftInstance<SqlCommand, SqlResult>({
      ...options,
      applicator: (command) => this.apply(command),
      serializer: jsonSerializer<SqlCommand>(),
      // serialize() copies the database now, between two applies; restore opens such a copy.
      snapshot: () => [this.db.serialize()],
      restore: async (data) => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of data) chunks.push(chunk);
        this.db.close();
        this.db = openDatabase(Buffer.concat(chunks));
      },
    });
  }

  /** Runs a statement that writes, on every node; resolves with the rows it changed, once applied here. */
  async execute(sql: string, ...params: (string | number | null)[]): Promise<number> {
    const result = await this.graft.applyOperation({ sql, params });
    if ('error' in result) throw new Error(result.error);
    return result.changes;
  }

  /** Runs a statement that reads, linearizably: after `readBarrier`, this node has applied every acknowledged write. */
  async query(sql: string, ...params: (string | number | null)[]): Promise<unknown[]> {
    await this.graft.readBarrier();
    const statement = this.db.prepare(sql);
    if (!statement.readonly) throw new Error('a query must not write: use execute');
    return statement.all(...params);
  }

  /** The state machine: runs one committed statement in a transaction of its own. A failure is a result too, alike everywhere. */
  private apply({ sql, params }: SqlCommand): SqlResult {
    try {
      return { changes: this.db.transaction(() => this.db.prepare(sql).run(...params).changes)() };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }
}

/** An in-memory database, empty or from a snapshot's bytes, whose nondeterministic functions fail. */
function openDatabase(bytes?: Buffer): Database.Database {
  const db = new Database(bytes ?? ':memory:');
  for (const name of NONDETERMINISTIC) {
    db.function(name, { varargs: true }, () => {
      throw new Error(`${name}() would differ from node to node: pass the value as a parameter`);
    });
  }
  return db;
}
