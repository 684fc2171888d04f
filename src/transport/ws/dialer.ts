import WebSocket from 'ws';
import type { NodeId } from '../../core/types.ts';
import type { Logger } from '../../logger.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { decodeChallenge, encodeAuth, encodeHello, newNonce, proof, sameProof, type Hello } from './hello.ts';

/** Close code for a handshake that failed: a policy violation. */
const POLICY_VIOLATION = 1008;

/**
 * Keeps a connection to a peer: connects, goes through the handshake (hello.ts), and after a close
 * connects again with backoff, until stopped. While the peer is connected another way (it called
 * this node), the dialer rests; `wake` calls again at once, the backoff forgotten, when that
 * connection is lost.
 */
export class Dialer {
  private socket: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(
    private readonly self: NodeId,
    private readonly peer: NodeId,
    private readonly url: string,
    private readonly maxPayload: number,
    private readonly backoffOptions: BackoffOptions,
    private readonly logger: Logger,
    /** Called with each connection once the handshake is done. */
    private readonly onOpen: (socket: WebSocket) => void,
    /** Whether the peer is connected already, by a connection this dialer did not make. */
    private readonly linked: () => boolean = () => false,
    /** The cluster secret: the peer must prove it knows it, and so must this node. Null: no proofs. */
    private readonly secret: string | null = null,
  ) {
    this.backoff = new Backoff(backoffOptions);
  }

  start(): void {
    this.connect();
  }

  /** The peer's connection was lost: call it now, from the start of the backoff. */
  wake(): void {
    if (this.stopped || this.socket !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.backoff.reset();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.terminate();
    this.socket = null;
  }

  private connect(): void {
    if (this.stopped || this.linked()) return;
    // A peer that does not answer at all (a host gone, packets dropped) must not hold a call for the OS's minutes.
    const socket = new WebSocket(this.url, {
      maxPayload: this.maxPayload,
      perMessageDeflate: false,
      handshakeTimeout: Math.max(1000, 2 * this.backoffOptions.maxMs),
    });
    this.socket = socket;
    socket.on('open', () => {
      this.backoff.reset();
      const hello: Hello = this.secret === null ? { from: this.self, to: this.peer } : { from: this.self, to: this.peer, nonce: newNonce() };
      socket.send(encodeHello(hello));
      if (this.secret === null) this.onOpen(socket);
      else socket.once('message', (data: Buffer) => this.authenticate(socket, hello, data, this.secret!));
    });
    socket.on('error', (error) => this.logger.debug(`connection to ${this.peer} failed`, { error: error.message }));
    socket.on('close', (code, reason) => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      if (code === POLICY_VIOLATION) this.logger.warn(`peer ${this.peer} refused the connection`, { reason: reason.toString() });
      const delay = this.backoff.next();
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, delay);
    });
  }

  /** The called node's challenge: its proof must be right before this node proves itself and talks. */
  private authenticate(socket: WebSocket, hello: Hello, data: Buffer, secret: string): void {
    try {
      const challenge = decodeChallenge(data);
      if (!sameProof(challenge.proof, proof(secret, 'called', hello, challenge.nonce))) {
        throw new Error('its proof does not match the cluster secret');
      }
      socket.send(encodeAuth(proof(secret, 'dialer', hello, challenge.nonce)));
      this.onOpen(socket);
    } catch (error) {
      const why = (error as Error).message;
      this.logger.warn(`peer ${this.peer} failed the handshake: ${why}`, { url: this.url });
      socket.close(POLICY_VIOLATION, why.slice(0, 120));
    }
  }
}
