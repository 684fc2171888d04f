import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installDeterministicFunctions } from '../../../src/cli/apps/sqlite/deterministic-functions.ts';
import { loadSqlite, type DatabaseConstructor } from '../../../src/cli/apps/sqlite/load-sqlite.ts';
import { ReplicaDatabase } from '../../../src/cli/apps/sqlite/replica-database.ts';
import type { SqlOutcome, SqlParams } from '../../../src/cli/apps/sqlite/sql-command.ts';

describe('sqlite app: a replica database', () => {
  let Database: DatabaseConstructor;
  let dir: string;
  const open: ReplicaDatabase[] = [];

  before(async () => {
    Database = await loadSqlite();
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-sqlite-'));
  });

  afterEach(() => {
    for (const db of open.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function replica(name: string, maxRows?: number): ReplicaDatabase {
    const db = new ReplicaDatabase(join(dir, name), Database, maxRows);
    open.push(db);
    return db;
  }

  const apply = (db: ReplicaDatabase, sql: string, params: SqlParams = []): SqlOutcome => db.apply({ sql, params });

  it('applies commands with their changes and rowid; an UPDATE answers rowid 0 whatever the connection inserted before', () => {
    const db = replica('a');
    expect(apply(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n)')).to.deep.equal({ ok: true, changes: 0, lastInsertRowid: 0 });
    expect(apply(db, 'INSERT INTO t (name, n) VALUES (?, ?)', ['a', 1])).to.deep.equal({ ok: true, changes: 1, lastInsertRowid: 1 });
    expect(apply(db, 'INSERT INTO t (name, n) VALUES (:name, :n)', { name: 'b', n: true })).to.deep.equal({ ok: true, changes: 1, lastInsertRowid: 2 });
    expect(apply(db, 'UPDATE t SET n = n + 1')).to.deep.equal({ ok: true, changes: 2, lastInsertRowid: 0 });
    expect(apply(db, 'INSERT OR IGNORE INTO t (name) VALUES (?)', ['a'])).to.deep.equal({ ok: true, changes: 0, lastInsertRowid: 0 });
    // Whole numbers bind as INTEGER, booleans as 1 and 0.
    expect(db.query('SELECT name, n, typeof(n) FROM t ORDER BY id', [])).to.deep.equal({
      columns: ['name', 'n', 'typeof(n)'],
      rows: [
        ['a', 2, 'integer'],
        ['b', 2, 'integer'],
      ],
    });
  });

  it("a failing statement is an outcome, SQLite's message and code, and changes nothing", () => {
    const db = replica('a');
    apply(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)');
    apply(db, "INSERT INTO t (name) VALUES ('a')");
    expect(apply(db, "INSERT INTO t (name) VALUES ('a')")).to.deep.equal({
      ok: false,
      error: 'UNIQUE constraint failed: t.name',
      code: 'SQLITE_CONSTRAINT_UNIQUE',
    });
    expect(apply(db, 'INSERT INTO nowhere VALUES (1)')).to.deep.equal({ ok: false, error: 'no such table: nowhere', code: 'SQLITE_ERROR' });
    expect(apply(db, 'INSERT INTO t (name) VALUES (?)', [])).to.include({ ok: false });
    expect(db.query('SELECT count(*) AS n FROM t', []).rows).to.deep.equal([[1]]);
  });

  it('the safety net: a value that makes a date function read the clock fails alike on every replica, and SQLite computes the rest', () => {
    const replicas = [replica('a'), replica('b')];
    const outcomes = replicas.map((db) => {
      apply(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, d TEXT)');
      apply(db, "INSERT INTO t (s) VALUES ('now'), ('2024-02-29')");
      // The text check cannot see what `s` holds: the applicator's date() refuses 'now' when it meets it.
      return apply(db, 'UPDATE t SET d = date(s)');
    });
    expect(outcomes[0]).to.deep.equal(outcomes[1]);
    expect(outcomes[0]).to.deep.include({ ok: false, code: 'GRAFT_REFUSED' });
    expect(outcomes[0]!.ok === false && outcomes[0]!.error).to.match(/^nondeterministic SQL refused: date\('now'\) reads each replica's own clock/);
    const db = replicas[0]!;
    expect(apply(db, 'UPDATE t SET d = date(s, ?) WHERE id = 2', ['+1 day'])).to.deep.equal({ ok: true, changes: 1, lastInsertRowid: 0 });
    expect(apply(db, "UPDATE t SET d = datetime(1700000000, 'unixepoch') WHERE id = 1")).to.include({ ok: true });
    // An index on a date function still works: the replacement is deterministic.
    expect(apply(db, 'CREATE INDEX by_day ON t (date(d))')).to.include({ ok: true });
    expect(db.query('SELECT d FROM t ORDER BY id', []).rows).to.deep.equal([['2023-11-14 22:13:20'], ['2024-03-01']]);
  });

  it("the applicator's connection replaces every function that could differ between replicas, should SQL the text check missed reach it", () => {
    const db = new Database(':memory:');
    const builtins = new Database(':memory:');
    try {
      installDeterministicFunctions(db, builtins);
      for (const [sql, refusal] of [
        ['SELECT random()', /random\(\) gives each replica a different number/],
        ['SELECT randomblob(4)', /randomblob\(\)/],
        ['SELECT changes()', /changes\(\)/],
        ['SELECT total_changes()', /total_changes\(\)/],
        ['SELECT last_insert_rowid()', /last_insert_rowid\(\)/],
        ['SELECT CURRENT_TIMESTAMP', /CURRENT_TIMESTAMP reads/],
        ['SELECT CURRENT_DATE', /CURRENT_DATE reads/],
        ['SELECT CURRENT_TIME', /CURRENT_TIME reads/],
        ['SELECT date()', /date\(\) without a time value/],
        ["SELECT strftime('%s')", /strftime\(\) without a time value/],
        ["SELECT julianday('now')", /julianday\('now'\)/],
        ["SELECT time('12:00', 'localtime')", /time\(\) with 'localtime' depends on each replica's time zone/],
      ] as const) {
        expect(() => db.prepare(sql).get(), sql).to.throw(new RegExp(`^nondeterministic SQL refused: ${refusal.source}`));
      }
      const same = "SELECT date('2024-01-31', '+1 month'), unixepoch('2024-01-01'), typeof(unixepoch('2024-01-01')), timediff('2024-03-01', '2024-02-01')";
      expect(db.prepare(same).raw(true).get()).to.deep.equal(builtins.prepare(same).raw(true).get());
    } finally {
      db.close();
      builtins.close();
    }
  });

  it('queries run read-only, refuse statements that write, and answer at most the row limit', () => {
    const db = replica('a', 2);
    apply(db, 'CREATE TABLE t (x)');
    for (const x of [1, 2, 3]) apply(db, 'INSERT INTO t VALUES (?)', [x]);
    expect(() => db.query('DELETE FROM t', [])).to.throw(/this statement writes: send it as a command/);
    expect(() => db.query('SELECT * FROM t', [])).to.throw(/the query returns more than 2 rows: add a LIMIT/);
    expect(() => db.query('SELEC 1', [])).to.throw(/syntax error/);
    expect(db.query("SELECT x, x'00ff' AS b FROM t WHERE x < ?", [2])).to.deep.equal({ columns: ['x', 'b'], rows: [[1, { blob: 'AP8=' }]] });
    // Queries may read the clock: they are not replicated.
    expect(db.query("SELECT date('now') IS NOT NULL", []).rows).to.deep.equal([[1]]);
  });

  it('a snapshot holds the database as it was when taken, though commands are applied while it is copied; restore replaces it', async () => {
    const source = replica('source');
    apply(source, 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    for (let i = 0; i < 500; i++) apply(source, 'INSERT INTO t (v) VALUES (?)', ['x'.repeat(200)]);
    const snapshot = source.snapshot();
    for (let i = 0; i < 100; i++) apply(source, 'INSERT INTO t (v) VALUES (?)', ['later']);
    const chunks: Uint8Array[] = [];
    for await (const chunk of snapshot) chunks.push(chunk);

    const target = replica('target');
    apply(target, 'CREATE TABLE other (x)');
    await target.restore(
      (async function* () {
        yield* chunks;
      })(),
    );
    expect(target.query('SELECT count(*), max(id) FROM t', []).rows).to.deep.equal([[500, 500]]);
    expect(() => target.query('SELECT * FROM other', [])).to.throw(/no such table: other/);
    // The restored replica goes on as the source did from that point: the same rowids.
    expect(apply(target, 'INSERT INTO t (v) VALUES (?)', ['next'])).to.deep.equal({ ok: true, changes: 1, lastInsertRowid: 501 });
    // The copy's file is gone once streamed.
    expect(readdirSync(join(dir, 'source')).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('refuses to restore bytes that are not a SQLite database, and keeps its own', async () => {
    const db = replica('a');
    apply(db, 'CREATE TABLE t (x)');
    const garbage = (async function* () {
      yield Buffer.from('not a database at all');
    })();
    let error: Error | null = null;
    await db.restore(garbage).catch((e: Error) => (error = e));
    expect(error).to.match(/the snapshot is not a SQLite database/);
    expect(db.query('SELECT count(*) FROM t', []).rows).to.deep.equal([[0]]);
  });

  it('starts from an empty database in each process: Graft restores its snapshot and replays its log', () => {
    const first = replica('a');
    apply(first, 'CREATE TABLE t (x)');
    first.close();
    const again = replica('a');
    expect(apply(again, 'CREATE TABLE t (x)')).to.include({ ok: true });
  });
});
