import WebSocket from 'ws';
import type { NodeId } from '../../core/types.ts';
import type { Logger } from '../../logger.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { POLICY_VIOLATION, truncateReason } from './called-handshake.ts';
import { LogThrottle } from './log-throttle.ts';
import { tlsFailure, type TlsIdentity } from './tls.ts';
import { tlsConnector } from './tls-connector.ts';
import { clusterMismatch, decodeChallenge, encodeAuth, encodeHello, newNonce, proof, sameProof, type Hello } from './hello.ts';

/** How a Dialer is set up. */
export interface DialerOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  readonly url: string;
  readonly maxPayload: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  /** Called with each connection once the handshake is done. */
  readonly onOpen: (socket: WebSocket) => void;
  /** Whether the peer is connected already, by a connection this dialer did not make. Default: never. */
  readonly linked?: () => boolean;
  /** The cluster secret: the peer must prove it knows it, and so must this node. Absent: no proofs. */
  readonly secret?: string;
  /** The cluster this node belongs to, when known: said in the hello, and a peer of another is refused. */
  readonly cluster?: () => string | null;
  /** Mutual TLS (a wss:// url): this node's certificate and key, and the CA the peer's certificate must chain to. */
  readonly tls?: TlsIdentity;
}

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
  private readonly throttle = new LogThrottle();
  private readonly peer: NodeId;
  private readonly logger: Logger;
  /** The last TLS failure logged, so that a peer that keeps failing the same way is logged once. */
  private tlsProblem: string | null = null;

  constructor(private readonly options: DialerOptions) {
    this.backoff = new Backoff(options.backoff);
    this.peer = options.peer;
    this.logger = options.logger;
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

  /** Stops calling. A connection it made is cut, unless `keepOpen` (its owner closes it). */
  stop(keepOpen = false): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (!keepOpen || this.socket?.readyState !== WebSocket.OPEN) this.socket?.terminate();
    this.socket = null;
  }

  private connect(): void {
    const { url, self, secret, onOpen } = this.options;
    if (this.stopped || this.options.linked?.() === true) return;
    const tls = this.options.tls;
    let secured = false;
    // A peer that does not answer at all (a host gone, packets dropped) must not hold a call for the OS's minutes.
    const socket = new WebSocket(url, {
      maxPayload: this.options.maxPayload,
      perMessageDeflate: false,
      handshakeTimeout: Math.max(1000, 2 * this.options.backoff.maxMs),
      // Masking (RFC 6455 §10.3) keeps a browser's scripts from steering the bytes a proxy between it
      // and a server sees. Peers are not browsers, and XOR-ing every byte cost the sender and the
      // receiver about 4% of a busy leader's time, so frames go with an all-zero mask, which ws sends
      // and reads as plain bytes.
      generateMask: zeroMask,
      ...(tls === undefined ? {} : { ca: tls.ca, cert: tls.cert, key: tls.key, createConnection: tlsConnector(() => (secured = true)) }),
    });
    this.socket = socket;
    socket.on('open', () => {
      this.backoff.reset();
      this.tlsProblem = null;
      const cluster = this.options.cluster?.() ?? null;
      const hello: Hello = {
        from: self,
        to: this.peer,
        ...(secret === undefined ? {} : { nonce: newNonce() }),
        ...(cluster === null ? {} : { cluster }),
      };
      socket.send(encodeHello(hello));
      if (secret === undefined) onOpen(socket);
      else socket.once('message', (data: Buffer) => this.authenticate(socket, hello, data, secret, cluster));
    });
    socket.on('error', (error) => this.failed(error, secured));
    socket.on('close', (code, reason) => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      // A peer that keeps refusing (another cluster, another secret) is said once a minute, not at every call.
      if (code === POLICY_VIOLATION && this.throttle.allow(`refused|${reason.toString()}`)) {
        this.logger.warn({ peer: this.peer, reason: reason.toString() }, `peer ${this.peer} refused the connection`);
      }
      const delay = this.backoff.next();
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, delay);
    });
  }

  /** A call that failed: a TLS failure is worth a warning, once for as long as it lasts; anything else (the peer is down) is not. */
  private failed(error: Error, secured: boolean): void {
    const tls = this.options.tls === undefined ? null : tlsFailure(error);
    const why =
      tls?.kind === 'untrusted'
        ? `its certificate is not trusted: ${tls.reason}`
        : tls?.kind === 'refused'
          ? `it refused this node's certificate: ${tls.reason}`
          : tls?.kind === 'not-tls'
            ? tls.reason
            : // A peer that does not trust this node's certificate closes the connection right after the handshake.
              this.options.tls !== undefined && secured && (error as NodeJS.ErrnoException).code === 'ECONNRESET'
              ? "it closed the connection after the TLS handshake: most likely it does not trust this node's certificate"
              : null;
    if (why === null || why === this.tlsProblem) {
      this.logger.debug({ peer: this.peer, error: error.message }, `connection to ${this.peer} failed`);
      return;
    }
    this.tlsProblem = why;
    this.logger.warn({ peer: this.peer, url: this.options.url, reason: why }, `TLS handshake with peer ${this.peer} failed: ${why}`);
  }

  /** The called node's challenge: its proof must be right, and its cluster this one, before this node proves itself and talks. */
  private authenticate(socket: WebSocket, hello: Hello, data: Buffer, secret: string, cluster: string | null): void {
    try {
      const challenge = decodeChallenge(data);
      if (!sameProof(challenge.proof, proof(secret, 'called', hello, challenge))) {
        throw new Error('its proof does not match the cluster secret');
      }
      const mismatch = clusterMismatch(challenge.cluster, cluster, `peer ${this.peer}`);
      if (mismatch !== null) throw new Error(mismatch);
      socket.send(encodeAuth(proof(secret, 'dialer', hello, challenge)));
      this.options.onOpen(socket);
    } catch (error) {
      const why = (error as Error).message;
      if (this.throttle.allow(`failed|${why}`))
        this.logger.warn({ peer: this.peer, url: this.options.url, reason: why }, `peer ${this.peer} failed the handshake: ${why}`);
      socket.close(POLICY_VIOLATION, truncateReason(why));
    }
  }
}

/** Fills a frame's masking key with zeros: the payload goes unmasked (see connect). */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
