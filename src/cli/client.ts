import { readFileSync } from 'node:fs';
import { clientTokenProblem, errnoReason, formatAddress, parseAddress } from '../config.ts';

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

/** The JSON answer of a node, with its HTTP status. */
export interface NodeAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Sends one HTTP JSON request to a node, with the client token when there is one (`clientToken`).
 * Network failures and non-JSON answers become CliErrors that name the node and what happened
 * (UnreachableError when it did not answer); a refusal for want of the token, an UnauthorizedError
 * saying how to give it. `signal` cancels it.
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
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== null) headers['authorization'] = `Bearer ${token.token}`;
  let response: Response;
  try {
    response = await fetch(`http://${address}${path}`, {
      method,
      headers,
      signal: signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      cause?.code === 'ECONNREFUSED'
        ? 'connection refused (is the node running?)'
        : (error as Error).name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : signal?.aborted === true
            ? 'cancelled'
            : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new UnreachableError(address, why);
  }
  const text = await response.text();
  if (response.status === 401) {
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
    throw new CliError(`${address} answered ${response.status} with something that is not JSON: ${text.slice(0, 80)}`);
  }
  return { status: response.status, body: (typeof parsed === 'object' && parsed !== null ? parsed : { value: parsed }) as Record<string, unknown> };
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
