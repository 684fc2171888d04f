import type { Database, Statement } from 'better-sqlite3';
import { CLOCK_KEYWORDS, NONDETERMINISTIC_FUNCTIONS, TIME_FUNCTIONS, timeCallProblem } from './nondeterminism.ts';
import { REFUSED_CODE, SqlError } from './sql-command.ts';

/**
 * The applicator's safety net: replaces, on the connection that applies commands, every SQL
 * function that could give replicas different results. Those that always would (random(),
 * CURRENT_TIMESTAMP) fail with their refusal; the date and time functions fail when they would read
 * the clock or the time zone, and otherwise give what SQLite's own would, computed on `builtins`
 * (a connection of its own, which keeps SQLite's functions). The text check refuses such SQL before
 * it is proposed; this makes every replica fail the same way if some reached the log anyway,
 * through a value (a column holding 'now') or a schema the check did not read.
 */
export function installDeterministicFunctions(db: Database, builtins: Database): void {
  for (const [name, message] of [...NONDETERMINISTIC_FUNCTIONS, ...CLOCK_KEYWORDS]) {
    db.function(name, { varargs: true }, () => {
      throw new SqlError(message, REFUSED_CODE);
    });
  }
  for (const name of TIME_FUNCTIONS.keys()) {
    const byArity = new Map<number, Statement<unknown[], unknown>>();
    const builtin = (arity: number): Statement<unknown[], unknown> => {
      let statement = byArity.get(arity);
      if (statement === undefined) {
        statement = builtins.prepare<unknown[], unknown>(`SELECT ${name}(${Array.from({ length: arity }, () => '?').join(', ')})`);
        // Integers stay integers (BigInt) on their way through, so the result is exactly SQLite's own.
        statement.pluck().safeIntegers(true);
        byArity.set(arity, statement);
      }
      return statement;
    };
    // Deterministic as replaced, so indexes and CHECK constraints may still use them, as with SQLite's own.
    db.function(name, { varargs: true, deterministic: true, safeIntegers: true }, (...args: unknown[]) => {
      const problem = timeCallProblem(
        name,
        args.length,
        args.filter((a): a is string => typeof a === 'string'),
      );
      if (problem !== null) throw new SqlError(problem, REFUSED_CODE);
      return builtin(args.length).get(...args);
    });
  }
}
