import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../../core/types.ts';
import { FrameError, FRAME_VERSION, parseJson } from '../codec.ts';

/**
 * The handshake that opens a peer connection. The dialer says who it is and whom it called, with a
 * fresh nonce. With a cluster secret, the called node answers with its own nonce and a proof that
 * it knows the secret; the dialer checks it and proves the same. Each proof is an HMAC of the secret
 * over both machine ids and both nonces, so it names this connection alone: a recorded handshake
 * is worth nothing on another (the called node's nonce is new each time). Without a secret the
 * hello alone opens the connection, as it did before secrets existed.
 */

/** The first frame on a peer connection. `nonce` is present when the dialer has a cluster secret. */
export interface Hello {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly nonce?: string;
}

/** The called node's answer to a hello with a nonce: its own nonce and its proof. */
export interface Challenge {
  readonly nonce: string;
  readonly proof: string;
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
  const { from, to, nonce } = hello;
  if (typeof from !== 'string' || typeof to !== 'string' || from === '' || to === '' || from.length > 256 || to.length > 256) {
    throw new FrameError('hello.from and hello.to must be machine ids');
  }
  if (nonce === undefined) return { from, to };
  return { from, to, nonce: checkedNonce(nonce, 'hello.nonce') };
}

/** Parses the called node's challenge, or throws FrameError. */
export function decodeChallenge(data: string | Buffer): Challenge {
  const challenge = part(data, 'challenge', '{"v":2,"challenge":{"nonce","proof"}}: the peer did not authenticate (has it the cluster secret?)');
  return { nonce: checkedNonce(challenge['nonce'], 'challenge.nonce'), proof: checkedProof(challenge['proof'], 'challenge.proof') };
}

/** Parses the dialer's proof, or throws FrameError. */
export function decodeAuth(data: string | Buffer): string {
  return checkedProof(part(data, 'auth', '{"v":2,"auth":{"proof"}}')['proof'], 'auth.proof');
}

/**
 * The proof that the side in `role` knows `secret`, for the connection `from` dialed to `to` with
 * these nonces. The role is part of it, so one side's proof cannot be sent back as the other's.
 */
export function proof(secret: string, role: 'called' | 'dialer', hello: Hello, calledNonce: string): string {
  return createHmac('sha256', secret)
    .update(['graft-peer-v1', role, hello.from, hello.to, hello.nonce ?? '', calledNonce].join('\n'))
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

function checkedProof(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) throw new FrameError(`${path}: expected a proof`);
  return value;
}
