import type BetterSqlite3 from 'better-sqlite3';
import { CliError } from '../../errors.ts';

/** better-sqlite3's Database class, the way the sqlite app opens databases. */
export type DatabaseConstructor = typeof BetterSqlite3;

/**
 * Loads better-sqlite3, an optional peer dependency: only the sqlite app needs it, so the package
 * does not install it. Its absence is one line saying how to install it. (`load`: for tests.)
 */
export async function loadSqlite(load: () => Promise<{ default: DatabaseConstructor }> = () => import('better-sqlite3')): Promise<DatabaseConstructor> {
  try {
    return (await load()).default;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new CliError('the sqlite app needs better-sqlite3: npm install better-sqlite3@12');
    }
    // Installed but unusable: a native module built for another Node version, say.
    throw new CliError(`the sqlite app cannot load better-sqlite3: ${(error as Error).message.split('\n')[0]}`);
  }
}
