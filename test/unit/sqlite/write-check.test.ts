import { expect } from 'chai';
import { REFUSED } from '../../../src/cli/apps/sqlite/nondeterminism.ts';
import { commandProblem } from '../../../src/cli/apps/sqlite/write-check.ts';

describe('sqlite app: the check of a command before it is proposed', () => {
  describe('refuses SQL that would give replicas different results, saying why', () => {
    const cases: [sql: string, reason: RegExp][] = [
      ['INSERT INTO t VALUES (random())', /random\(\) gives each replica a different number/],
      ['insert into t values (RANDOM ( ))', /random\(\)/],
      ['INSERT INTO t VALUES (randomblob(16))', /randomblob\(\)/],
      ["INSERT INTO t VALUES (datetime('now'))", /datetime\('now'\) reads each replica's own clock/],
      ["UPDATE t SET at = DATE(' NOW ')", /date\('now'\)/],
      ["UPDATE t SET at = julianday('now', '+1 day')", /julianday\('now'\)/],
      ['INSERT INTO t VALUES (date())', /date\(\) without a time value/],
      ['INSERT INTO t VALUES (unixepoch())', /unixepoch\(\) without a time value/],
      ["INSERT INTO t VALUES (strftime('%s'))", /strftime\(\) without a time value/],
      ["INSERT INTO t VALUES (strftime('%Y', 'now'))", /strftime\('now'\)/],
      ["UPDATE t SET at = datetime(at, 'localtime')", /'localtime' depends on each replica's time zone/],
      ["UPDATE t SET at = datetime(at, 'utc')", /'utc'/],
      ['INSERT INTO t VALUES (CURRENT_TIMESTAMP)', /CURRENT_TIMESTAMP reads each replica's own clock/],
      ['INSERT INTO t VALUES (current_date)', /CURRENT_DATE/],
      ['CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT DEFAULT CURRENT_TIME)', /CURRENT_TIME reads/],
      ["UPDATE t SET at = upper(coalesce(NULL, datetime('now')))", /datetime\('now'\)/],
      ['UPDATE t SET n = changes()', /changes\(\) depends on the history/],
      ['UPDATE t SET n = total_changes()', /total_changes\(\)/],
      ['INSERT INTO u VALUES (last_insert_rowid())', /last_insert_rowid\(\)/],
      ['SELECT 1 FROM a JOIN b ON random() < 0', /SELECT/], // not a command at all, before anything else
      ['INSERT INTO t SELECT * FROM a JOIN b ON random() < 0', /random\(\)/],
      ['CREATE INDEX i ON t (random())', /random\(\)/],
      ['CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET r = random(); END', /random\(\)/],
      ['INSERT INTO t VALUES ("random"())', /random\(\)/],
    ];
    for (const [sql, reason] of cases) {
      it(sql, () => {
        const problem = commandProblem(sql);
        expect(problem).to.match(reason);
        if (!/^SELECT/.test(sql)) expect(problem).to.match(new RegExp(`^${REFUSED}: .+; (pass|compute|convert) `));
      });
    }
  });

  describe('accepts deterministic SQL, wherever the words appear only as text', () => {
    const cases = [
      "INSERT INTO t VALUES ('random()', 'now')",
      "INSERT INTO notes (body) VALUES ('now')",
      "INSERT INTO t VALUES ('it''s random()')",
      'INSERT INTO t VALUES (1) -- random()\n',
      "INSERT INTO t VALUES (1) /* datetime('now') */",
      'INSERT INTO t ("random", "current_timestamp") VALUES (?, ?)',
      'INSERT INTO t ([date], `time`) VALUES (?, ?)',
      "INSERT INTO t VALUES (datetime('2024-01-01 10:00', '+1 day'))",
      "UPDATE t SET at = strftime('%Y', at)",
      "UPDATE t SET at = datetime(?, 'unixepoch')",
      "UPDATE t SET d = timediff('2024-02-01', '2024-01-01')",
      'UPDATE t SET n = n + 1 WHERE id = :id',
      'CREATE TABLE random (x)',
      'CREATE TABLE IF NOT EXISTS date (x REFERENCES random(id))',
      'INSERT INTO random(x) VALUES (1)',
      'INSERT INTO main.random(x) VALUES (1)',
      'CREATE INDEX i ON random(x)',
      'CREATE TABLE weather (temp REAL, time TEXT)',
      'UPDATE weather SET temp = temp + 1',
      'DELETE FROM t;',
      'DELETE FROM t; -- and nothing else',
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET kind = CASE WHEN new.n > 0 THEN 'up' ELSE 'down' END WHERE id = new.id; DELETE FROM u; END",
      "INSERT INTO t VALUES (x'00ff')",
    ];
    for (const sql of cases) {
      it(sql.replace(/\n/g, '\\n'), () => expect(commandProblem(sql)).to.equal(null));
    }
  });

  describe('refuses what is not one statement that writes, outside transaction control', () => {
    const cases: [sql: string, reason: RegExp][] = [
      ['', /the statement is empty/],
      ['  -- nothing\n', /the statement is empty/],
      ['SELECT * FROM t', /SELECT: it changes nothing: run it as a query/],
      ['VALUES (1)', /run it as a query/],
      ['EXPLAIN DELETE FROM t', /run it as a query/],
      ['INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)', /a command is one statement/],
      ['CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END; DROP TABLE t', /a command is one statement/],
      ['PRAGMA foreign_keys = OFF', /PRAGMA changes settings of one replica's connection/],
      ["ATTACH DATABASE 'other.db' AS other", /ATTACH opens a database outside/],
      ['DETACH other', /DETACH/],
      ['BEGIN', /each command runs in a transaction of its own/],
      ['COMMIT', /each command runs in a transaction of its own/],
      ['SAVEPOINT s', /each command runs in a transaction of its own/],
      ['VACUUM', /VACUUM cannot run inside a command's transaction/],
      ['CREATE TEMP TABLE x (a)', /temporary tables, views and triggers belong to one replica's connection/],
      ['CREATE TEMPORARY VIEW v AS SELECT 1', /temporary/],
      ['INSERT INTO temp.graft_rowid (rowid) VALUES (5)', /temporary/],
    ];
    for (const [sql, reason] of cases) {
      it(JSON.stringify(sql), () => expect(commandProblem(sql)).to.match(reason));
    }
  });
});
