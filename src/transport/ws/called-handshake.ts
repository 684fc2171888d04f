import type WebSocket from 'ws';
import type { NodeId } from '../../core/types.ts';
import { clusterMismatch, decodeAuth, decodeHello, encodeChallenge, newNonce, proof, sameProof, type Hello } from './hello.ts';

/** Close code for a handshake that failed or a bad frame: a policy violation. */
export const POLICY_VIOLATION = 1008;

/** What the called side of a handshake needs to know. */
export interface CalledHandshakeOptions {
  readonly self: NodeId;
  /** The cluster secret; null: a hello alone opens the connection. */
  readonly secret: string | null;
  /** How long the caller has to finish, ms. */
  readonly timeoutMs: number;
  /** Whether machine `id` may call this node (a peer, or a stranger while strangers are welcome). */
  readonly admits: (id: NodeId) => boolean;
  /** This node's cluster, once known. */
  readonly cluster: () => string | null;
  /** The handshake succeeded: the connection is `peer`'s. */
  readonly onDone: (peer: NodeId) => void;
  /** The handshake failed, for this reason; the connection is closed. */
  readonly onRefused: (why: string) => void;
}

/**
 * The called node's side of the handshake (hello.ts) on a new connection: a hello from a machine
 * that may call, naming this node and no other cluster; with a secret, then this node's challenge
 * and the caller's proof. Anything else, or nothing in time, closes the connection.
 */
export function answerHandshake(ws: WebSocket, options: CalledHandshakeOptions): void {
  const { self, secret } = options;
  const timer = setTimeout(() => ws.close(POLICY_VIOLATION, 'no handshake in time'), options.timeoutMs);
  ws.once('close', () => clearTimeout(timer));
  const refuse = (error: unknown): void => {
    clearTimeout(timer);
    const why = (error as Error).message;
    options.onRefused(why);
    ws.close(POLICY_VIOLATION, truncateReason(why));
  };
  const done = (peer: NodeId): void => {
    clearTimeout(timer);
    options.onDone(peer);
  };
  ws.once('message', (data: Buffer) => {
    let hello: Hello;
    try {
      hello = decodeHello(data);
      if (hello.from === self || !options.admits(hello.from)) throw new Error(`"${hello.from}" is not a peer in the configuration`);
      if (hello.to !== self) throw new Error(`it called "${hello.to}", but this is "${self}"`);
      if (secret !== null && hello.nonce === undefined) throw new Error(`"${hello.from}" has no cluster secret, and this cluster requires one`);
      if (secret === null && hello.nonce !== undefined) throw new Error(`"${hello.from}" has a cluster secret, and this node has none`);
      const mismatch = clusterMismatch(hello.cluster, options.cluster(), `"${hello.from}"`);
      if (mismatch !== null) throw new Error(mismatch);
    } catch (error) {
      refuse(error);
      return;
    }
    if (secret === null) {
      done(hello.from);
      return;
    }
    const cluster = options.cluster();
    const challenge = { nonce: newNonce(), ...(cluster === null ? {} : { cluster }) };
    ws.send(encodeChallenge({ ...challenge, proof: proof(secret, 'called', hello, challenge) }));
    ws.once('message', (answer: Buffer) => {
      try {
        if (!sameProof(decodeAuth(answer), proof(secret, 'dialer', hello, challenge))) {
          throw new Error(`"${hello.from}" failed the handshake: its proof does not match the cluster secret`);
        }
      } catch (error) {
        refuse(error);
        return;
      }
      done(hello.from);
    });
  });
}

/** A close reason must fit in 123 bytes. */
export function truncateReason(reason: string): string {
  return Buffer.byteLength(reason) <= 120 ? reason : `${Buffer.from(reason).subarray(0, 117).toString()}...`;
}
