import type { IncomingMessage } from 'node:http';
import { HttpError, readJson, type AppRoutes } from '../kvstore/http-api.ts';
import { parseParams, SqlError, type SqlParams } from './sql-command.ts';
import type { SqlStore } from './sql-store.ts';

/**
 * The sqlite app's own endpoints, beside the node's (`/status`, `/health`, `/admin/*`), both
 * `POST` with a body `{"sql": "...", "params": [...] or {...}}`:
 * - `/sql/command`: one statement that writes, through the log: `200 {"changes", "lastInsertRowid"}`;
 * - `/sql/query`: one statement that reads, after a read barrier (linearizable): `200 {"columns", "rows"}`.
 * A statement refused before it runs answers `400 {"error", "code": "GRAFT_REFUSED"}`; one SQLite
 * failed, `400` (`409` for a constraint) with SQLite's message and code. Either node may be asked:
 * a follower's command reaches the leader through Graft, and its query waits for its own copy to
 * catch up.
 */
export function sqlRoutes(store: SqlStore): AppRoutes {
  return async (req, url) => {
    const kind = url.pathname === '/sql/command' ? 'command' : url.pathname === '/sql/query' ? 'query' : null;
    if (kind === null) return null;
    if (req.method !== 'POST') throw new HttpError(405, `${req.method ?? 'GET'} ${url.pathname} is not supported; use POST`);
    const { sql, params } = await sqlRequest(req);
    try {
      return [200, kind === 'command' ? await store.command(sql, params) : await store.query(sql, params)];
    } catch (error) {
      if (!(error instanceof SqlError)) throw error;
      return [error.code.startsWith('SQLITE_CONSTRAINT') ? 409 : 400, { error: error.message, code: error.code }];
    }
  };
}

/** The body of a request, checked: `{"sql": "...", "params": ...}`. */
async function sqlRequest(req: IncomingMessage): Promise<{ sql: string; params: SqlParams }> {
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'the body must be a JSON object {"sql": "...", "params": [...]}');
  const unknown = Object.keys(body).filter((key) => key !== 'sql' && key !== 'params');
  if (unknown.length > 0) throw new HttpError(400, `unknown field ${JSON.stringify(unknown[0])} in the body: it takes "sql" and "params"`);
  const { sql, params } = body as { sql?: unknown; params?: unknown };
  if (typeof sql !== 'string') throw new HttpError(400, `sql must be a string of SQL, got ${sql === undefined ? 'nothing' : typeof sql}`);
  try {
    return { sql, params: parseParams(params) };
  } catch (error) {
    throw new HttpError(400, (error as Error).message);
  }
}
