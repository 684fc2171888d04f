import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { formatAddress, parseAddress } from '../config.ts';
import { clientTls, clientToken, TOKEN_VARIABLE, type ClientTls } from './credentials.ts';
import { CliError, TlsHandshakeError, UnauthorizedError, UnreachableError, UsageError } from './errors.ts';
import { tlsFailure } from '../transport/ws/tls.ts';

/** The JSON answer of a node, with its HTTP status. */
export interface NodeAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Sends one HTTP JSON request to a node, with the client token when there is one (`clientToken`),
 * over HTTPS when the CLI has a CA (`clientTls`). Network failures and non-JSON answers become
 * CliErrors that name the node and what happened (UnreachableError when it did not answer, a
 * TlsHandshakeError when the TLS handshake failed); a refusal for want of the token, an
 * UnauthorizedError saying how to give it. `signal` cancels it.
 */
export async function requestNode(
  cluster: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
  signal?: AbortSignal,
): Promise<NodeAnswer> {
  const address = nodeAddress('--cluster', cluster);
  const token = clientToken();
  const tls = clientTls();
  const headers: Record<string, string> = {};
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (token !== null) headers['authorization'] = `Bearer ${token.token}`;
  let response: { status: number; text: string };
  try {
    response = await exchange(address, method, path, headers, payload, tls, timeoutMs, signal);
  } catch (error) {
    throw failure(address, error, tls, timeoutMs);
  }
  const { status, text } = response;
  if (status === 401) {
    throw new UnauthorizedError(
      token === null
        ? `${address} requires a client token: give --token-file PATH or set ${TOKEN_VARIABLE}`
        : `${address} refused the client token from ${token.source}: give the cluster's token with --token-file PATH or ${TOKEN_VARIABLE}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${address} answered ${status} with something that is not JSON: ${text.slice(0, 80)}`);
  }
  return { status, body: (typeof parsed === 'object' && parsed !== null ? parsed : { value: parsed }) as Record<string, unknown> };
}

/** Why a request failed before an answer, with what the CLI knows of it; see `exchange`. */
class ExchangeFailure extends Error {
  constructor(
    readonly kind: 'timeout' | 'cancelled' | 'network',
    readonly error: unknown,
    /** Whether a TLS handshake had finished on the connection (the node may still refuse this client's certificate after it). */
    readonly secured: boolean,
  ) {
    super(kind);
  }
}

/**
 * One request and its whole answer, over node:http or node:https (global fetch cannot be given a
 * CA): at most `timeoutMs` in all, cancelled by `signal`. Rejects with an ExchangeFailure.
 */
function exchange(
  address: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
  tls: ClientTls | null,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ status: number; text: string }> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    let secured = false;
    let settled = false;
    const finish = (outcome: { status: number; text: string } | ExchangeFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof ExchangeFailure) {
        req.destroy();
        reject(outcome);
      } else resolve(outcome);
    };
    const onAbort = (): void => finish(new ExchangeFailure('cancelled', signal?.reason, secured));
    // A fresh connection per request (no keep-alive agent), so that `secured` describes this one.
    const options = { host, port, method, path, headers, agent: false as const };
    const req =
      tls === null
        ? httpRequest(options)
        : httpsRequest({ ...options, ca: tls.ca.pem, ...(tls.cert === null ? {} : { cert: tls.cert.pem }), ...(tls.key === null ? {} : { key: tls.key.pem }) });
    const timer = setTimeout(() => finish(new ExchangeFailure('timeout', null, secured)), timeoutMs);
    req.on('socket', (socket) => socket.once('secureConnect', () => (secured = (socket as TLSSocket).encrypted)));
    req.on('error', (error) => finish(new ExchangeFailure('network', error, secured)));
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => finish(new ExchangeFailure('network', error, secured)));
      res.on('aborted', () => finish(new ExchangeFailure('network', new Error('the answer was cut off'), secured)));
      res.on('end', () => finish({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(payload);
  });
}

/** The CliError for a request to `address` that failed before an answer. */
function failure(address: string, error: unknown, tls: ClientTls | null, timeoutMs: number): CliError {
  if (!(error instanceof ExchangeFailure)) return new UnreachableError(address, (error as Error).message);
  if (error.kind === 'timeout') return new UnreachableError(address, `no answer within ${timeoutMs} ms`);
  if (error.kind === 'cancelled') return new UnreachableError(address, 'cancelled');
  const cause = error.error as { code?: string; message?: string };
  if (cause.code === 'ECONNREFUSED') return new UnreachableError(address, 'connection refused (is the node running?)');
  const handshake = tlsFailure(cause);
  if (tls !== null && handshake !== null) {
    if (handshake.kind === 'refused') {
      const hint =
        tls.cert === null ? 'give --cert and --key, a client certificate signed by the cluster CA' : `is ${tls.cert.source} signed by the cluster CA?`;
      return new TlsHandshakeError(`node ${address} refused the TLS handshake: ${handshake.reason}; ${hint}`);
    }
    if (handshake.kind === 'not-tls') {
      return new TlsHandshakeError(`node ${address} failed the TLS handshake: ${handshake.reason}; leave out --ca, --cert and --key for a cluster without tls`);
    }
    return new TlsHandshakeError(
      `node ${address} failed the TLS handshake: its certificate is not trusted: ${handshake.reason}; is ${tls.ca.source} the cluster CA?`,
    );
  }
  if (cause.code === 'ECONNRESET') {
    // A node refuses a client certificate it does not trust by closing the connection once the
    // handshake is done (TLS 1.3 sends the client's certificate last), and a plain HTTP request by
    // closing it at once.
    if (tls !== null && error.secured) {
      const what = tls.cert === null ? 'this client, which presented no certificate' : `the certificate of ${tls.cert.source}`;
      return new TlsHandshakeError(`node ${address} refused the TLS handshake: it closed the connection after seeing ${what}; is it signed by the cluster CA?`);
    }
    if (tls === null) return new UnreachableError(address, 'it closed the connection before answering (if the cluster uses TLS, give --ca, --cert and --key)');
  }
  return new UnreachableError(address, cause.code ?? cause.message ?? String(cause));
}

/** `host:port` as the CLI sends to it; a UsageError naming `option` when `text` is not an address. */
export function nodeAddress(option: string, text: string): string {
  try {
    return formatAddress(parseAddress(text));
  } catch (error) {
    throw new UsageError(`${option} ${JSON.stringify(text)}: ${(error as Error).message}`);
  }
}

/** A member as a node's `/status` lists it. */
export interface Member {
  readonly id: string;
  readonly address: string;
  /** A voter or a learner (nodes of earlier versions do not say). */
  readonly role?: 'voter' | 'learner';
}

/** The member `id` among those a node listed, with its address as `host:port`; a CliError naming the members when there is none. */
export function findMember(members: readonly Member[], id: string): Member {
  const member = members.find((m) => m.id === id);
  if (member === undefined) throw new CliError(`machine id "${id}" is not a member (members: ${members.map((m) => m.id).join(', ')})`);
  return { id, address: formatAddress(parseAddress(member.address)) };
}

/** Turns a non-2xx answer into a CliError carrying the node's own message. */
export function expectOk(answer: NodeAnswer, what: string): Record<string, unknown> {
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  const leader = typeof answer.body['leader'] === 'string' ? ` (leader: ${answer.body['leader']})` : '';
  throw new CliError(`${what} failed: ${String(answer.body['error'] ?? `HTTP ${answer.status}`)}${leader}`);
}
