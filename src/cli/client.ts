import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { clientTokenProblem, errnoReason, formatAddress, parseAddress, type TlsConfig } from '../config.ts';
import { tlsFailure } from '../transport/ws/tls.ts';

/** A failure the CLI reports as one line and exit code 1. */
export class CliError extends Error {}

/** A command line that cannot work (a missing or contradictory option): one line and exit code 2. */
export class UsageError extends CliError {}

/** A node that did not answer: `reason` says why (connection refused, no answer in time). */
export class UnreachableError extends CliError {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${address}: ${reason}`);
  }
}

/** A node refused the request for want of the right client token (HTTP 401). */
export class UnauthorizedError extends CliError {}

/** The TLS handshake with a node failed: it refused this client's certificate, or this client refused its. Trying another node would not help. */
export class TlsHandshakeError extends CliError {}

/** The environment variable that holds the client token, when `--token-file` is not given. */
export const TOKEN_VARIABLE = 'GRAFT_TOKEN';

/** The client token the CLI sends, and where it came from (for messages; never the token itself). */
interface ClientToken {
  readonly token: string;
  readonly source: string;
}

/** Where the token comes from: `--token-file`, else GRAFT_TOKEN, else `fallbackToken`. Read when first needed. */
const tokenSource: { file: string | undefined; fallback: ClientToken | null; loaded: ClientToken | null | undefined } = {
  file: undefined,
  fallback: null,
  loaded: undefined,
};

/** The global option `--token-file PATH`: the file holding the token every request sends. It wins over GRAFT_TOKEN. */
export function useTokenFile(path: string | undefined): void {
  tokenSource.file = path;
  tokenSource.loaded = undefined;
}

/**
 * A token to send when neither `--token-file` nor GRAFT_TOKEN gives one: that of the cluster file a
 * joining node was started with, whose cluster has the same token. `source` names it in messages.
 */
export function useFallbackToken(token: string | null, source: string): void {
  tokenSource.fallback = token === null ? null : { token, source };
  tokenSource.loaded = undefined;
}

/** The token requests carry: from `--token-file`, else GRAFT_TOKEN, else the fallback; null for none. A CliError when it cannot be used. */
export function clientToken(): ClientToken | null {
  if (tokenSource.loaded !== undefined) return tokenSource.loaded;
  let found: ClientToken | null = tokenSource.fallback;
  if (tokenSource.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenSource.file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read --token-file ${tokenSource.file}: ${errnoReason(error)}`);
    }
    found = { token: text.trim(), source: `--token-file ${tokenSource.file}` };
  } else {
    const variable = process.env[TOKEN_VARIABLE]?.trim();
    if (variable !== undefined && variable !== '') found = { token: variable, source: TOKEN_VARIABLE };
  }
  const problem = found === null ? null : clientTokenProblem(found.token);
  if (problem !== null) throw new CliError(`${found!.source}: ${problem}`);
  tokenSource.loaded = found;
  return found;
}

/** The environment variables that name the CLI's TLS files when `--ca`, `--cert` and `--key` are not given. */
export const TLS_VARIABLES = { ca: 'GRAFT_CA', cert: 'GRAFT_CERT', key: 'GRAFT_KEY' } as const;

/** One PEM file of the CLI's TLS identity, and where it was named (for messages). */
interface TlsPart {
  readonly pem: string;
  readonly source: string;
}

/** How the CLI speaks TLS: the CA nodes' certificates must chain to, and its own certificate and key (absent: it presents none). */
interface ClientTls {
  readonly ca: TlsPart;
  readonly cert: TlsPart | null;
  readonly key: TlsPart | null;
}

/** Where the TLS files come from: the options, else the environment, else `fallback`. Read when first needed. */
const tlsSource: {
  files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined };
  fallback: { tls: TlsConfig; source: string } | null;
  loaded: ClientTls | null | undefined;
} = { files: {}, fallback: null, loaded: undefined };

/** The global options `--ca`, `--cert` and `--key`: PEM files; each wins over its environment variable (TLS_VARIABLES). */
export function useTlsFiles(files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }): void {
  tlsSource.files = files;
  tlsSource.loaded = undefined;
}

/**
 * TLS files to use when neither the options nor the environment name any: those of the cluster file
 * a joining node was started with (its own certificate, signed by the cluster CA, serves as a client's).
 */
export function useFallbackTls(tls: TlsConfig | null, source: string): void {
  tlsSource.fallback = tls === null ? null : { tls, source };
  tlsSource.loaded = undefined;
}

/**
 * The TLS the CLI speaks, or null for plain HTTP: with a CA (`--ca`, GRAFT_CA, or the fallback) it
 * speaks HTTPS, presenting `--cert` and `--key` when given. A CliError when a file cannot be used,
 * a UsageError for a certificate without its key (or the other way round), or either without a CA.
 */
export function clientTls(): ClientTls | null {
  if (tlsSource.loaded !== undefined) return tlsSource.loaded;
  const named = (part: 'ca' | 'cert' | 'key'): { file: string; source: string } | null => {
    const option = tlsSource.files[part];
    if (option !== undefined) return { file: option, source: `--${part} ${option}` };
    const variable = process.env[TLS_VARIABLES[part]]?.trim();
    return variable === undefined || variable === '' ? null : { file: variable, source: `${TLS_VARIABLES[part]}=${variable}` };
  };
  const files = { ca: named('ca'), cert: named('cert'), key: named('key') };
  let loaded: ClientTls | null;
  if (files.ca === null && files.cert === null && files.key === null) {
    const fallback = tlsSource.fallback;
    loaded =
      fallback === null
        ? null
        : {
            ca: { pem: fallback.tls.ca, source: `tls.ca of ${fallback.source}` },
            cert: { pem: fallback.tls.cert, source: `tls.cert of ${fallback.source}` },
            key: { pem: fallback.tls.key, source: `tls.key of ${fallback.source}` },
          };
  } else {
    if ((files.cert === null) !== (files.key === null)) {
      throw new UsageError(
        `${(files.cert ?? files.key)!.source} needs its ${files.cert === null ? 'certificate, --cert' : 'key, --key'} (or ${files.cert === null ? TLS_VARIABLES.cert : TLS_VARIABLES.key})`,
      );
    }
    if (files.ca === null) {
      throw new UsageError(`${(files.cert ?? files.key)!.source} needs --ca (or ${TLS_VARIABLES.ca}): the CA that signed the nodes' certificates`);
    }
    const read = (found: { file: string; source: string } | null, header: RegExp, what: string): TlsPart | null => {
      if (found === null) return null;
      let pem: string;
      try {
        pem = readFileSync(found.file, 'utf8');
      } catch (error) {
        throw new CliError(`cannot read ${found.source}: ${errnoReason(error)}`);
      }
      if (!header.test(pem)) throw new CliError(`${found.source} is not PEM holding ${what}`);
      return { pem, source: found.source };
    };
    loaded = {
      ca: read(files.ca, /-----BEGIN CERTIFICATE-----/, 'a certificate ("-----BEGIN CERTIFICATE-----")')!,
      cert: read(files.cert, /-----BEGIN CERTIFICATE-----/, 'a certificate ("-----BEGIN CERTIFICATE-----")'),
      key: read(files.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key ("-----BEGIN ... PRIVATE KEY-----")'),
    };
  }
  tlsSource.loaded = loaded;
  return loaded;
}

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

/** Parses a JSON argument, with a hint for the common mistake of an unquoted string. */
export function parseJsonArgument(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${name} must be a JSON value, got ${text}; for a string, quote it: '"${text}"'`);
  }
}

/**
 * Parses JSON read from `source` (a file, standard input), naming the source, the line and column
 * of the first error and what is wrong there. Blank text is an error of its own: the user most
 * likely gave the wrong file or forgot to pipe anything in.
 */
export function parseJsonInput(source: string, text: string): unknown {
  if (text.trim() === '') throw new CliError(`${source} is empty; it must hold a JSON value`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // V8 gives the position for some errors only, and quotes a snippet instead for others; find it ourselves.
    const reason = (error as Error).message
      .replace(/ (?:in JSON )?at position \d+.*$/s, '')
      .replace(/^Unexpected token '(.+?)', .*$/s, (_, token: string) => `Unexpected token ${isControl(token) ? JSON.stringify(token) : `'${token}'`}`);
    const at = jsonSyntaxErrorOffset(text);
    if (at < 0) throw new CliError(`${source} is not valid JSON: ${(error as Error).message}`);
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new CliError(`${source} is not valid JSON: ${reason} at line ${line}, column ${column}`);
  }
}

class SyntaxErrorAt {
  constructor(readonly offset: number) {}
}

/**
 * The offset (in UTF-16 code units) of the first character at which `text` stops being one JSON
 * value (RFC 8259, the grammar `JSON.parse` accepts): `text.length` when it ends too soon, -1 when
 * it is valid. Iterative, so deeply nested input cannot overflow the stack.
 */
export function jsonSyntaxErrorOffset(text: string): number {
  let i = 0;
  const fail = (at: number): never => {
    throw new SyntaxErrorAt(at);
  };
  const skipWhitespace = (): void => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const digits = (): void => {
    const start = i;
    while (text[i] !== undefined && text[i]! >= '0' && text[i]! <= '9') i++;
    if (i === start) fail(i);
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail(i);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail(i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      const escaped = text[i + 1];
      if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) {
        i += 2;
        continue;
      }
      if (escaped !== 'u') fail(i + 1);
      for (let k = i + 2; k < i + 6; k++) if (!/[0-9a-fA-F]/.test(text[k] ?? '')) fail(k);
      i += 6;
    }
  };
  const scalar = (): void => {
    const c = text[i];
    if (c === '"') return string();
    for (const literal of ['true', 'false', 'null']) {
      if (c !== literal[0]) continue;
      for (let k = 0; k < literal.length; k++, i++) if (text[i] !== literal[k]) fail(i);
      return;
    }
    if (c === '-') i++;
    if (text[i] === '0') i++;
    else if (text[i] !== undefined && text[i]! >= '1' && text[i]! <= '9') digits();
    else fail(i);
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };

  const open: ('{' | '[')[] = [];
  let expect: 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'after' = 'value';
  try {
    for (;;) {
      skipWhitespace();
      const c = text[i];
      if (expect === 'after') {
        const top = open.at(-1);
        if (top === undefined) return i === text.length ? -1 : i;
        if (c === ',') {
          i++;
          expect = top === '[' ? 'value' : 'key';
        } else if (c === (top === '[' ? ']' : '}')) {
          i++;
          open.pop();
        } else return i;
      } else if (expect === 'key' || expect === 'keyOrClose') {
        if (expect === 'keyOrClose' && c === '}') {
          i++;
          open.pop();
          expect = 'after';
          continue;
        }
        if (c !== '"') return i;
        string();
        skipWhitespace();
        if (text[i] !== ':') return i;
        i++;
        expect = 'value';
      } else {
        if (expect === 'valueOrClose' && c === ']') {
          i++;
          open.pop();
          expect = 'after';
          continue;
        }
        if (c === '{' || c === '[') {
          i++;
          open.push(c);
          expect = c === '{' ? 'keyOrClose' : 'valueOrClose';
          continue;
        }
        scalar();
        expect = 'after';
      }
    }
  } catch (error) {
    if (error instanceof SyntaxErrorAt) return error.offset;
    throw error;
  }
}

/** Whether `text` holds a control character (shown escaped, or it would garble the terminal). */
function isControl(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20);
}
