import { join } from 'node:path';
import { CliError } from '../../errors.ts';
import { startAppNode, type AppNode, type AppNodeOptions } from '../kvstore/node.ts';
import { sqlRoutes } from './http-api.ts';
import { loadSqlite } from './load-sqlite.ts';
import { SqlStore } from './sql-store.ts';

/** A running sqlite node: its store, its server, and how to stop both. */
export interface SqlNode extends AppNode {
  readonly store: SqlStore;
}

/**
 * Starts one node of the sqlite app (see startAppNode): a replicated SQLite database, kept under
 * `<dataDir>/<id>/sqlite`, served on `/sql/command` and `/sql/query`. Loads better-sqlite3 first,
 * an optional peer dependency: without it, a CliError says how to install it.
 */
export async function startSqlNode(options: AppNodeOptions): Promise<SqlNode> {
  const Database = await loadSqlite();
  const dataDir = options.dataDir ?? options.config.dataDir;
  if (dataDir === null) throw new CliError('the sqlite app keeps its database in the data directory: give --data-dir, or dataDir in the configuration');
  const { state, ...node } = await startAppNode(options, {
    open: (graftOptions) => new SqlStore({ ...graftOptions, databaseDir: join(dataDir, options.id, 'sqlite') }, Database),
    routes: sqlRoutes,
    clientsMay: 'run SQL',
  });
  return { ...node, store: state };
}
