import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatAddress, parseAddress } from '../../../config.ts';
import { GraftError, type GraftErrorCode, type GraftInstance } from '../../../index.ts';
import type { KVStore } from './kv-store.ts';
import { serveMetrics } from './metrics-endpoint.ts';

/** The largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A request refused with `status` and a message (and headers, e.g. `www-authenticate`); answered as `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Who may call the API: cluster.yaml's `allowedOrigins` and the token read from its `clientTokenFile`. */
export interface HttpAccess {
  /** The web origins whose pages may call; a request with any other `Origin` header is refused (403). */
  readonly allowedOrigins: readonly string[];
  /** The token every request must carry as `Authorization: Bearer <token>` (but the open endpoints: `GET /status`, `/health`, `/metrics`); null: none needed. */
  readonly clientToken: string | null;
}

/** The access of a node without `allowedOrigins` and `clientTokenFile`: no browser, any other client. */
export const OPEN_ACCESS: HttpAccess = { allowedOrigins: [], clientToken: null };

/**
 * What a node answers without a token, for load balancers and monitors: `GET /status`, `/health` and `/metrics`;
 * and the dashboard (`GET /` and its stream), which shows only what the members' `/status` shows.
 */
const OPEN_ENDPOINTS = new Set(['/status', '/health', '/health/ready', '/metrics', '/', '/dashboard/events']);

/** A node is ready to serve while it has applied all but at most this many committed entries. */
export const READY_LAG = 1000;

/**
 * The kvstore's HTTP JSON API (see DESIGN.md, "The node's port"). Every error is a JSON
 * `{"error": "..."}` with a fitting status; no request hangs: each operation has Graft's deadline.
 * Membership changes take longest (a new member catches up first, within Graft's catchUpTimeoutMs,
 * a minute by default): the server sets no deadline of its own on answers, so nothing cuts them short.
 * `stop` shuts the node down; it is called once the answer to `POST /admin/stop` has been sent.
 *
 * Before anything else, `access` decides who is served (see `admit`): a browser only from a listed
 * origin, a body only as JSON, and, when the cluster has a client token, only a client that sends it.
 */
export function createHttpHandler(
  store: KVStore,
  stop: () => void,
  access: HttpAccess = OPEN_ACCESS,
  /** Serves the read-only pages (the dashboard), after the same admission; returns false for a path it does not serve. */
  pages?: { serve(req: IncomingMessage, res: ServerResponse, url: URL): boolean },
): (req: IncomingMessage, res: ServerResponse) => void {
  return createNodeHttpHandler(store.graft, (req, url) => kvRoutes(store, req, url), stop, access, pages);
}

/** What the node's own endpoints (`/status`, `/health`, `/admin/*`, ...) use of its GraftInstance, whatever the app's operations. */
export type NodeGraft = Pick<
  GraftInstance<unknown, unknown>,
  'id' | 'isRunning' | 'status' | 'snapshot' | 'members' | 'addMember' | 'removeMember' | 'transferLeadership' | 'metrics'
>;

/** An app's own endpoints (the kvstore's `/kv/:key`): `[status, body]` for a path it serves, null for one it does not (a 404). */
export type AppRoutes = (req: IncomingMessage, url: URL) => Promise<[number, unknown] | null>;

/**
 * The HTTP handler of a node of any app: the node's own endpoints, then the app's `routes`, with
 * the admission, the errors and the deadlines of `createHttpHandler`.
 */
export function createNodeHttpHandler(
  graft: NodeGraft,
  routes: AppRoutes,
  stop: () => void,
  access: HttpAccess = OPEN_ACCESS,
  pages?: { serve(req: IncomingMessage, res: ServerResponse, url: URL): boolean },
): (req: IncomingMessage, res: ServerResponse) => void {
  const token = access.clientToken === null ? null : Buffer.from(access.clientToken, 'utf8');
  return (req, res) => {
    let url: URL;
    try {
      url = requestUrl(req);
      if (admit(req, res, url, access.allowedOrigins, token) === 'answered') return;
    } catch (error) {
      replyError(res, error);
      return;
    }
    if (pages?.serve(req, res, url) === true) return;
    if (url.pathname === '/admin/stop') {
      if (req.method !== 'POST') replyError(res, new HttpError(405, `${req.method} /admin/stop is not supported; use POST`));
      else reply(res, 202, { stopping: graft.id }, stop);
      return;
    }
    if (url.pathname === '/metrics') {
      if (req.method !== 'GET') replyError(res, new HttpError(405, `${req.method} /metrics is not supported; use GET`));
      else serveMetrics(graft.metrics, res, (error) => replyError(res, error));
      return;
    }
    route(graft, routes, req, url).then(
      ([status, body]) => reply(res, status, body),
      (error: unknown) => replyError(res, error),
    );
  };
}

/**
 * The request's target as a URL. A target the URL parser refuses (`//`, `/\`, `//a:b`: read as a
 * host) is a 400: thrown out of the request handler, it would take the process down.
 */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, `the request target ${JSON.stringify(req.url)} is not a valid path`);
  }
}

/**
 * Refuses what must not be served, by throwing an HttpError, in this order:
 * - a request from a web page (it carries `Origin`) unless its origin is listed: 403. A page of any
 *   other site could otherwise make a visitor's browser write or stop the node (a `text/plain` POST
 *   needs no CORS preflight). A listed origin's preflight is answered here, and its answers carry
 *   `Access-Control-Allow-Origin`;
 * - a body that is not declared `application/json`: 415 (a form or `text/plain` body is what a page
 *   can send without a preflight);
 * - with a client token, a request that does not carry it, but `GET /status`, `GET /health` and the dashboard: 401.
 * Returns 'answered' when it has answered the request itself (a preflight), else 'go'.
 */
function admit(req: IncomingMessage, res: ServerResponse, url: URL, allowedOrigins: readonly string[], token: Buffer | null): 'answered' | 'go' {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!allowedOrigins.includes(origin)) {
      throw new HttpError(403, `requests from web pages are refused: the origin ${JSON.stringify(origin)} is not in the cluster's allowedOrigins`);
    }
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      // The browser asks first whether a JSON or authorized request may be sent; it sends no token with this.
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, PUT, POST, DELETE',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      });
      res.end();
      return 'answered';
    }
  }
  if (hasBody(req)) {
    const type = req.headers['content-type'];
    if (type === undefined || type.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      throw new HttpError(
        415,
        `a request body must be JSON, sent with content-type: application/json; got ${type === undefined ? 'no content-type' : JSON.stringify(type)}`,
      );
    }
  }
  if (token !== null && !(req.method === 'GET' && OPEN_ENDPOINTS.has(url.pathname))) {
    const header = req.headers.authorization;
    const bearer = header === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
    if (bearer === undefined) {
      throw new HttpError(401, 'this node needs a client token: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer realm="graft"' });
    }
    const given = Buffer.from(bearer, 'utf8');
    // Constant time: how much of a guess is right must not show in how long the refusal takes.
    if (given.length !== token.length || !timingSafeEqual(given, token)) {
      throw new HttpError(401, 'the client token is wrong', { 'www-authenticate': 'Bearer realm="graft", error="invalid_token"' });
    }
  }
  return 'go';
}

/** Whether the request carries a body: a non-zero Content-Length, or a chunked one (which may turn out empty). */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > 0;
}

async function route(graft: NodeGraft, routes: AppRoutes, req: IncomingMessage, url: URL): Promise<[number, unknown]> {
  const method = req.method ?? 'GET';
  if (url.pathname === '/admin/leader/transfer') {
    if (method !== 'POST') throw new HttpError(405, `${method} ${url.pathname} is not supported; use POST`);
    const body = await readJson(req, true);
    const id = typeof body === 'object' && body !== null && 'id' in body ? body.id : undefined;
    if (id !== undefined && typeof id !== 'string') throw new HttpError(400, 'the body must be {"id": "<machine id>"} or empty');
    return [200, { leader: await graft.transferLeadership(id) }];
  }
  if (url.pathname === '/admin/snapshot') {
    if (method !== 'POST') throw new HttpError(405, `${method} ${url.pathname} is not supported; use POST`);
    const { index, term } = await graft.snapshot();
    const { firstIndex } = graft.status();
    return [200, { index, term, firstIndex }];
  }
  if (url.pathname === '/members') {
    if (method !== 'GET') throw new HttpError(405, `${method} /members is not supported; use GET`);
    return [200, { members: graft.members() }];
  }
  if (url.pathname === '/admin/members') {
    if (method !== 'POST') throw new HttpError(405, `${method} ${url.pathname} is not supported; use POST (DELETE /admin/members/:id removes one)`);
    const { id, address, learner } = memberToAdd(await readJson(req));
    // Answered once the change is committed: a new member's catch-up can take a minute or more (catchUpTimeoutMs).
    return [200, { members: await graft.addMember(id, address, { learner }) }];
  }
  const member = /^\/admin\/members\/([^/]+)$/.exec(url.pathname);
  if (member !== null) {
    if (method !== 'DELETE') throw new HttpError(405, `${method} ${url.pathname} is not supported; use DELETE`);
    const id = decodeSegment('machine id', member[1] ?? '');
    if (!MACHINE_ID.test(id)) throw new HttpError(400, `${JSON.stringify(id)} is not a machine id (letters, digits, "_", "." or "-")`);
    return [200, { members: await graft.removeMember(id) }];
  }
  if (url.pathname === '/health') {
    if (method !== 'GET') throw new HttpError(405, `${method} /health is not supported; use GET`);
    // Alive: answers as soon as the node has started, while it replays its log too.
    if (!graft.isRunning()) return [503, { status: 'not running' }];
    return [200, { status: 'ok', appliedIndex: graft.status().appliedIndex }];
  }
  if (url.pathname === '/health/ready') {
    if (method !== 'GET') throw new HttpError(405, `${method} /health/ready is not supported; use GET`);
    // Ready: a leader is known, and this node is not far behind what it knows is committed.
    const { leader, commitIndex, appliedIndex } = graft.status();
    const lag = commitIndex - appliedIndex;
    const ready = graft.isRunning() && leader !== null && lag <= READY_LAG;
    const why = !graft.isRunning() ? 'not running' : leader === null ? 'no leader known' : lag > READY_LAG ? `${lag} committed entries not applied yet` : null;
    return [ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', ...(why === null ? {} : { reason: why }), leader, commitIndex, appliedIndex }];
  }
  if (url.pathname === '/status') {
    if (method !== 'GET') throw new HttpError(405, `${method} /status is not supported; use GET`);
    return [200, graft.status()];
  }
  const answer = await routes(req, url);
  if (answer === null) throw new HttpError(404, `no such endpoint: ${method} ${url.pathname}`);
  return answer;
}

/** The kvstore's own endpoints: `/kv/:key` and `/kv/:key/cas`. */
export async function kvRoutes(store: KVStore, req: IncomingMessage, url: URL): Promise<[number, unknown] | null> {
  const method = req.method ?? 'GET';
  const match = /^\/kv\/([^/]+)(\/cas)?$/.exec(url.pathname);
  if (match === null) return null;
  const key = decodeSegment('key', match[1] ?? '');
  if (match[2] !== undefined) {
    if (method !== 'POST') throw new HttpError(405, `${method} ${url.pathname} is not supported; use POST`);
    const body = await readJson(req);
    if (typeof body !== 'object' || body === null || !('expected' in body) || !('value' in body)) {
      throw new HttpError(400, 'the body must be a JSON object {"expected": ..., "value": ...}');
    }
    return [200, { ok: await store.compareAndSet(key, body.expected, body.value) }];
  }
  switch (method) {
    case 'PUT': {
      const value = await readJson(req);
      return [200, { index: await store.set(key, value) }];
    }
    case 'GET': {
      const consistency = url.searchParams.get('consistency') ?? 'linearizable';
      if (consistency !== 'linearizable' && consistency !== 'stale') {
        throw new HttpError(400, `consistency must be "linearizable" or "stale", got ${JSON.stringify(consistency)}`);
      }
      const { found, value } = await store.get(key, { stale: consistency === 'stale' });
      if (!found) throw new HttpError(404, `key ${JSON.stringify(key)} not found`);
      return [200, { value }];
    }
    case 'DELETE':
      return [200, { index: (await store.delete(key)).index }];
    default:
      throw new HttpError(405, `${method} is not supported on /kv/:key; use GET, PUT or DELETE`);
  }
}

function decodeSegment(what: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `the ${what} ${JSON.stringify(raw)} is not valid percent-encoding`);
  }
}

/** What a machine id may be, as in cluster.yaml: it names the machine's data directory too. */
const MACHINE_ID = /^[A-Za-z0-9_.-]+$/;
const MEMBER_FIELDS = ['id', 'address', 'learner'];

/** The body of `POST /admin/members`, checked field by field: `{"id": "4", "address": "host:port", "learner": false}`. */
function memberToAdd(body: unknown): { id: string; address: string; learner: boolean } {
  const bad = (message: string): never => {
    throw new HttpError(400, message);
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return bad('the body must be a JSON object {"id": "<machine id>", "address": "<host:port>", "learner": false}');
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((name) => !MEMBER_FIELDS.includes(name));
  if (unknown !== undefined) bad(`unknown field ${JSON.stringify(unknown)}; the fields are ${MEMBER_FIELDS.join(', ')}`);
  const { id: rawId, address: rawAddress, learner } = fields;
  if (rawId === undefined) bad('id is missing: the machine id of the member to add, e.g. "4"');
  if (typeof rawId !== 'string' && !(typeof rawId === 'number' && Number.isSafeInteger(rawId) && rawId >= 0)) {
    bad(`id must be a machine id as a string, e.g. "4", got ${JSON.stringify(rawId)}`);
  }
  const id = String(rawId);
  if (!MACHINE_ID.test(id)) bad(`id ${JSON.stringify(id)} is not a machine id: use letters, digits, "_", "." or "-"`);
  if (rawAddress === undefined) bad('address is missing: where the new member listens, "host:port"');
  if (typeof rawAddress !== 'string') return bad(`address must be a string "host:port", got ${JSON.stringify(rawAddress)}`);
  let address: string;
  try {
    address = formatAddress(parseAddress(rawAddress));
  } catch (error) {
    return bad(`address ${JSON.stringify(rawAddress)} is not valid: ${(error as Error).message}`);
  }
  if (learner !== undefined && typeof learner !== 'boolean') bad(`learner must be true or false, got ${JSON.stringify(learner)}`);
  return { id, address, learner: learner === true };
}

/** The request's body as JSON, at most MAX_BODY_BYTES and MAX_BODY_DEPTH deep; an HttpError (400, 413) otherwise. Empty: `{}` if `emptyAllowed`. */
export async function readJson(req: IncomingMessage, emptyAllowed = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (emptyAllowed) return {};
    throw new HttpError(400, 'the body is empty; send a JSON value');
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (nestedDeeperThan(value, MAX_BODY_DEPTH)) throw new HttpError(400, `the body is nested deeper than ${MAX_BODY_DEPTH} levels`);
  return value;
}

/**
 * How deeply a body's arrays and objects may nest. A value much deeper would reach the log and then
 * overflow the stack where it is encoded or compared (a compare-and-set runs isDeepStrictEqual as it
 * is applied), and how deep that happens depends on each process's state: one node could apply a
 * write that another fails.
 */
export const MAX_BODY_DEPTH = 256;

/** Whether `value` nests arrays and objects more than `limit` deep; walked without recursion. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [v, depth] = next;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) pending.push([child, depth + 1]);
  }
  return false;
}

/** The HTTP status of a GraftError; any other code means the node cannot serve now (503). */
const HTTP_STATUS_OF: Partial<Record<GraftErrorCode, number>> = {
  TIMEOUT_OUTCOME_UNKNOWN: 504,
  APPLY_FAILED: 500,
  INVALID_ARGUMENT: 400,
  TRANSFER_ABORTED: 409,
  SNAPSHOT_UNSUPPORTED: 501,
  CHANGE_IN_PROGRESS: 409,
  NOT_CAUGHT_UP: 504,
};

function replyError(res: ServerResponse, error: unknown): void {
  if (error instanceof HttpError) {
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    reply(res, error.status, { error: error.message });
    return;
  }
  if (error instanceof GraftError) {
    const status = HTTP_STATUS_OF[error.code] ?? 503;
    reply(res, status, { error: error.message, code: error.code, ...(error.leader === null ? {} : { leader: error.leader }) });
    return;
  }
  reply(res, 500, { error: error instanceof Error ? error.message : String(error) });
}

function reply(res: ServerResponse, status: number, body: unknown, sent?: () => void): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text, sent);
}
