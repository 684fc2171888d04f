import { parseAddress, formatAddress } from '../config.ts';

/** A failure the CLI reports as one line and exit code 1. */
export class CliError extends Error {}

/** The JSON answer of a node, with its HTTP status. */
export interface NodeAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * Sends one HTTP JSON request to a node. Network failures and non-JSON answers become CliErrors that
 * name the node and what happened.
 */
export async function requestNode(cluster: string, method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<NodeAnswer> {
  const address = formatAddress(parseAddress(cluster));
  let response: Response;
  try {
    response = await fetch(`http://${address}${path}`, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code === 'ECONNREFUSED' ? 'connection refused (is the node running?)'
      : (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms`
      : cause?.code ?? cause?.message ?? (error as Error).message;
    throw new CliError(`cannot reach ${address}: ${why}`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${address} answered ${response.status} with something that is not JSON: ${text.slice(0, 80)}`);
  }
  return { status: response.status, body: (typeof parsed === 'object' && parsed !== null ? parsed : { value: parsed }) as Record<string, unknown> };
}

/** A member as a node's `/status` lists it. */
export interface Member {
  readonly id: string;
  readonly address: string;
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
