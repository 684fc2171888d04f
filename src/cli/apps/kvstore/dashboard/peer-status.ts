import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { parseAddress } from '../../../../config.ts';
import { tlsFailure, type TlsIdentity } from '../../../../transport/ws/tls.ts';

/** What the dashboard reads of a member's `GET /status`. */
export interface MemberStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** 0 when the member has no snapshot (or is too old to say). */
  readonly snapshotIndex: number;
}

/** A member's status, or why it could not be had: then the member is shown as down. */
export type PeerAnswer = { readonly up: true; readonly status: MemberStatus } | { readonly up: false; readonly reason: string };

/** What the node proves itself with to its peers' HTTP API: the cluster's TLS identity and client token, when it has them. */
export interface PeerCredentials {
  readonly tls: TlsIdentity | null;
  readonly clientToken: string | null;
}

/** The largest `/status` answer read: a few members' worth is far below it. */
const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * Reads other members' `GET /status` from the server side, as a client of their HTTP API: over
 * HTTPS with the node's own certificate when the cluster has `tls`, with the client token when it
 * has one. Connections are kept alive between polls; `close()` ends them.
 */
export class PeerStatusClient {
  private readonly agent: HttpAgent | HttpsAgent;

  constructor(
    private readonly credentials: PeerCredentials,
    /** How long one answer may take; a member slower than this is shown as down. */
    private readonly timeoutMs: number,
  ) {
    const tls = credentials.tls;
    this.agent =
      tls === null
        ? new HttpAgent({ keepAlive: true, maxSockets: 1 })
        : new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: tls.ca, cert: tls.cert, key: tls.key });
  }

  /** The status of the member at `address` (`host:port`); never rejects: a failure is an answer with the reason. */
  fetch(address: string): Promise<PeerAnswer> {
    let target: { host: string; port: number };
    try {
      target = parseAddress(address);
    } catch (error) {
      return Promise.resolve({ up: false, reason: `bad address ${JSON.stringify(address)}: ${(error as Error).message}` });
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials.clientToken !== null) headers['authorization'] = `Bearer ${this.credentials.clientToken}`;
    const options = { host: target.host, port: target.port, path: '/status', method: 'GET', headers, agent: this.agent };
    return new Promise((resolve) => {
      let settled = false;
      const finish = (answer: PeerAnswer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!answer.up) req.destroy();
        resolve(answer);
      };
      const req = this.credentials.tls === null ? httpRequest(options) : httpsRequest(options);
      const timer = setTimeout(() => finish({ up: false, reason: `no answer within ${this.timeoutMs} ms` }), this.timeoutMs);
      req.on('error', (error) => finish({ up: false, reason: failureReason(error) }));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) finish({ up: false, reason: `its /status answer is larger than ${MAX_ANSWER_BYTES} bytes` });
          else chunks.push(chunk);
        });
        res.on('error', (error) => finish({ up: false, reason: failureReason(error) }));
        res.on('end', () => {
          if (res.statusCode !== 200) return finish({ up: false, reason: `/status answered ${res.statusCode}` });
          const status = memberStatus(Buffer.concat(chunks).toString('utf8'));
          finish(status === null ? { up: false, reason: '/status answered something that is not a node status' } : { up: true, status });
        });
      });
      req.end();
    });
  }

  /** Closes the connections kept alive; requests in flight fail. */
  close(): void {
    this.agent.destroy();
  }
}

/** The status in `text`, a `/status` answer, or null when it is not one. */
export function memberStatus(text: string): MemberStatus | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { id, role, term, leader, commitIndex, appliedIndex, snapshotIndex } = body as Record<string, unknown>;
  const count = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (typeof id !== 'string' || typeof role !== 'string' || !count(term) || !count(commitIndex) || !count(appliedIndex)) return null;
  if (leader !== null && typeof leader !== 'string') return null;
  return { id, role, term, leader, commitIndex, appliedIndex, snapshotIndex: count(snapshotIndex) ? snapshotIndex : 0 };
}

/** A failed request in words: `connection refused`, a TLS handshake's reason, or the system's message. */
function failureReason(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  const tls = tlsFailure(error);
  if (tls !== null) return `TLS handshake failed: ${tls.reason}`;
  return message ?? String(error);
}
