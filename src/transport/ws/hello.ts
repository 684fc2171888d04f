import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../../core/types.ts';
import { CLUSTER_ID } from '../../core/configuration-format.ts';
import { FrameError, FRAME_VERSION, parseJson } from '../codec.ts';

/**
 * The handshake that opens a peer connection. The dialer says who it is and whom it called, with a
 * fresh nonce. With a cluster secret, the called node answers with its own nonce and a proof that
 * it knows the secret; the dialer checks it and proves the same. Each proof is an HMAC of the secret
 * over both machine ids and both nonces, so it names this connection alone: a recorded handshake
 * is worth nothing on another (the called node's nonce is new each time). Both sides also say which
 * cluster they belong to, once their log names one, and the proofs cover that too: a node of another
 * cluster is refused by name. Without a secret the hello alone opens the connection.
 */

/** The first frame on a peer connection. `nonce` is present when the dialer has a cluster secret; `cluster` once it knows its cluster. */
export interface Hello {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly nonce?: string;
  readonly cluster?: string;
}

/** The called node's answer to a hello with a nonce: its own nonce, its cluster when it knows it, and its proof. */
export interface Challenge {
  readonly nonce: string;
  readonly proof: string;
  readonly cluster?: string;
}

/** Nonces are 16 random bytes, base64: 24 characters. */
const NONCE_LENGTH = 24;

export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

export function encodeHello(hello: Hello): string {
  return JSON.stringify({ v: FRAME_VERSION, hello });
}

export function encodeChallenge(challenge: Challenge): string {
  return JSON.stringify({ v: FRAME_VERSION, challenge });
}

export function encodeAuth(proof: string): string {
  return JSON.stringify({ v: FRAME_VERSION, auth: { proof } });
}

/** Parses a hello frame, or throws FrameError naming what was wrong. */
export function decodeHello(data: string | Buffer): Hello {
  const hello = part(data, 'hello', '{"v":2,"hello":{"from","to"}}');
  const { from, to, nonce, cluster } = hello;
  if (typeof from !== 'string' || typeof to !== 'string' || from === '' || to === '' || from.length > 256 || to.length > 256) {
    throw new FrameError('hello.from and hello.to must be machine ids');
  }
  return {
    from,
    to,
    ...(nonce === undefined ? {} : { nonce: checkedNonce(nonce, 'hello.nonce') }),
    ...(cluster === undefined ? {} : { cluster: checkedCluster(cluster, 'hello.cluster') }),
  };
}

/** Parses the called node's challenge, or throws FrameError. */
export function decodeChallenge(data: string | Buffer): Challenge {
  const challenge = part(data, 'challenge', '{"v":2,"challenge":{"nonce","proof"}}: the peer did not authenticate (has it the cluster secret?)');
  const cluster = challenge['cluster'];
  return {
    nonce: checkedNonce(challenge['nonce'], 'challenge.nonce'),
    proof: checkedProof(challenge['proof'], 'challenge.proof'),
    ...(cluster === undefined ? {} : { cluster: checkedCluster(cluster, 'challenge.cluster') }),
  };
}

/** Why two nodes that name these clusters may not talk, or null when they may (either not knowing its own yet is no reason). */
export function clusterMismatch(theirs: string | undefined, ours: string | null, who: string): string | null {
  if (theirs === undefined || ours === null || theirs === ours) return null;
  return `${who} belongs to cluster ${theirs}, and this node to cluster ${ours}`;
}

/** Parses the dialer's proof, or throws FrameError. */
export function decodeAuth(data: string | Buffer): string {
  return checkedProof(part(data, 'auth', '{"v":2,"auth":{"proof"}}')['proof'], 'auth.proof');
}

/**
 * The proof that the side in `role` knows `secret`, for the connection `from` dialed to `to` with
 * these nonces and these clusters named. The role is part of it, so one side's proof cannot be sent
 * back as the other's.
 */
export function proof(secret: string, role: 'called' | 'dialer', hello: Hello, challenge: Omit<Challenge, 'proof'>): string {
  return createHmac('sha256', secret)
    .update(['graft-peer-v2', role, hello.from, hello.to, hello.nonce ?? '', challenge.nonce, hello.cluster ?? '', challenge.cluster ?? ''].join('\n'))
    .digest('base64');
}

/** Compares two proofs in constant time. */
export function sameProof(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function part(data: string | Buffer, key: string, expected: string): Record<string, unknown> {
  const frame = parseJson(data) as Record<string, unknown> | null;
  const value = typeof frame === 'object' && frame !== null ? frame[key] : undefined;
  if (frame?.['v'] !== FRAME_VERSION || typeof value !== 'object' || value === null) throw new FrameError(`expected ${expected}`);
  return value as Record<string, unknown>;
}

function checkedNonce(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length !== NONCE_LENGTH) throw new FrameError(`${path}: expected a nonce of ${NONCE_LENGTH} characters`);
  return value;
}

function checkedCluster(value: unknown, path: string): string {
  if (typeof value !== 'string' || !CLUSTER_ID.test(value)) throw new FrameError(`${path}: expected a cluster id`);
  return value;
}

function checkedProof(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) throw new FrameError(`${path}: expected a proof`);
  return value;
}
