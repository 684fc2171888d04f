import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { NodeId } from '../../core/types.ts';
import { formatAddress, type PeerAddress } from '../../config.ts';
import { silentLogger, type Logger } from '../../logger.ts';
import type { PeerByteCounter, PeerByteCounters } from '../../metrics/hooks.ts';
import { decodeFrame, encodeBinaryFrame } from '../codec.ts';
import type { PeerMessage } from '../peer-messages.ts';
import type { ReceiveHandler, Transport } from '../transport.ts';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { answerHandshake, POLICY_VIOLATION, truncateReason } from './called-handshake.ts';
import { Dialer } from './dialer.ts';
import { mutualTlsServerOptions, tlsClientRefusal, type TlsIdentity } from './tls.ts';
import { PendingHandshakes, type HandshakeLimits } from './handshake-limits.ts';
import { LogThrottle } from './log-throttle.ts';

/** The path peers connect to. */
export const RAFT_PATH = '/raft';

/** Close code of a node that stops: going away. */
const GOING_AWAY = 1001;
/** Close code for a frame too big. */
const TOO_BIG = 1009;

/** How a WebSocketTransport is set up. */
export interface WebSocketTransportOptions {
  readonly self: NodeId;
  /** The first peers, and self: its address is where the transport listens when it owns its server. `setPeers` changes the peers. */
  readonly members: ReadonlyMap<NodeId, PeerAddress>;
  /**
   * Share this HTTP server (its owner listens); without it the transport listens on its own address.
   * With `tls`, it must be an HTTPS server made with the same certificates (`mutualTlsServerOptions`).
   */
  readonly server?: Server | HttpsServer;
  readonly logger?: Logger;
  /** The largest frame accepted, in bytes. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  readonly backoff?: BackoffOptions;
  /** How long an accepted connection may take to finish its handshake, ms. Default 5000. */
  readonly helloTimeoutMs?: number;
  /** Bounds on connections still in their handshake (see PendingHandshakes for the defaults). */
  readonly handshakeLimits?: HandshakeLimits;
  /**
   * The cluster secret: every connection, both ways, proves that its two sides know it before any
   * message passes (see hello.ts). Absent: a hello alone opens a connection, and anyone who reaches
   * the port can speak as a member.
   */
  readonly secret?: string;
  /**
   * Mutual TLS: peers are dialed over wss://, presenting `cert`, and their certificates must chain to
   * `ca` and name the host dialed; the server this transport makes is HTTPS and requires a
   * certificate of `ca` from every client. Absent: plain ws://.
   */
  readonly tls?: TlsIdentity;
  /** The cluster this node must belong to, when configured; `setCluster` names it once the log does. */
  readonly cluster?: string;
  /**
   * Where the bytes of frames to and from each peer are counted (GraftInstance's metrics).
   * @internal
   */
  readonly peerBytes?: PeerByteCounters;
}

/**
 * Peers over WebSockets: one connection per pair of nodes, used both ways. Either side may dial, so
 * a node that restarts calls its peers at once instead of waiting out their backoff; when both
 * dial at the same moment, both keep the connection dialed by the smaller id. Every frame is
 * size-limited and validated before it reaches the core; a peer that sends a bad frame is
 * disconnected with a warning, and the node goes on.
 */
export class WebSocketTransport implements Transport {
  private readonly self: NodeId;
  private readonly logger: Logger;
  private readonly maxFrameBytes: number;
  /** The open connection to each peer, and whether this node dialed it. */
  private readonly sockets = new Map<NodeId, WebSocket>();
  private readonly dialedHere = new WeakSet<WebSocket>();
  /** Peers whose connection was lost, for a warning once and a note when it returns. */
  private readonly lost = new Set<NodeId>();
  /** The current peers (never self): those dialed, or allowed to call. */
  private peers = new Map<NodeId, PeerAddress>();
  /** Whether ids outside `peers` may call. */
  private acceptStrangers = false;
  /** This node's cluster, once known: a peer that names another is refused. */
  private cluster: string | null;
  /** The dialer of each peer, while started. */
  private readonly dialers = new Map<NodeId, Dialer>();
  private readonly wss: WebSocketServer;
  private server: Server | HttpsServer | null = null;
  private ownsServer = false;
  private receive: ReceiveHandler = () => {};
  private started = false;
  private stopped = false;
  /** Refusals and bad frames are logged once a minute at most for the same host or peer. */
  private readonly throttle = new LogThrottle();
  /** Bad frames from each peer since start: each closed its connection. */
  private readonly badFrames = new Map<NodeId, number>();
  private readonly pending: PendingHandshakes;
  private readonly peerBytes: PeerByteCounters;

  constructor(private readonly options: WebSocketTransportOptions) {
    this.self = options.self;
    this.logger = options.logger ?? silentLogger;
    this.maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
    this.cluster = options.cluster ?? null;
    this.pending = new PendingHandshakes(options.handshakeLimits);
    this.peerBytes = options.peerBytes ?? uncounted;
    if (!options.members.has(this.self)) throw new Error(`WebSocketTransport: self "${this.self}" is not among the members`);
    for (const [peer, address] of options.members) if (peer !== this.self) this.peers.set(peer, address);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameBytes, perMessageDeflate: false });
  }

  async start(receive: ReceiveHandler): Promise<void> {
    if (this.started) throw new Error('WebSocketTransport: start() called twice');
    this.started = true;
    this.receive = receive;
    this.ownsServer = this.options.server === undefined;
    const notFound = (_req: IncomingMessage, res: ServerResponse): void => void res.writeHead(404).end();
    const tls = this.options.tls;
    const server = this.options.server ?? (tls === undefined ? createServer(notFound) : createHttpsServer(mutualTlsServerOptions(tls), notFound));
    this.server = server;
    server.on('upgrade', this.onUpgrade);
    if (tls !== undefined) {
      server.on('connection', this.onConnection);
      server.on('tlsClientError', this.onTlsClientError);
    }
    if (this.ownsServer) {
      const address = this.options.members.get(this.self)!;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
    for (const [peer, address] of this.peers) this.dial(peer, address);
  }

  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>, acceptStrangers: boolean): void {
    const previous = this.peers;
    this.peers = new Map([...peers].filter(([peer]) => peer !== this.self));
    this.acceptStrangers = acceptStrangers;
    const removed = [...previous.keys()].filter((peer) => !this.peers.has(peer));
    const added = [...this.peers.keys()].filter((peer) => !previous.has(peer));
    for (const peer of removed) this.drop(peer);
    // Connections from strangers last only while strangers are welcome.
    if (!acceptStrangers) for (const peer of [...this.sockets.keys()]) if (!this.peers.has(peer)) this.drop(peer);
    for (const [peer, address] of this.peers) {
      const before = previous.get(peer);
      if (before === undefined || before.host !== address.host || before.port !== address.port) this.dial(peer, address);
    }
    if (removed.length > 0 || added.length > 0) {
      this.logger.debug({ added, removed, acceptStrangers }, `peers changed: ${[...this.peers.keys()].join(', ') || 'none'}`);
    }
  }

  isConnected(peer: NodeId): boolean {
    return this.sockets.get(peer)?.readyState === WebSocket.OPEN;
  }

  setCluster(cluster: string): void {
    this.cluster = cluster;
  }

  send(to: NodeId, messages: readonly PeerMessage[]): boolean {
    const socket = this.sockets.get(to);
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      this.logger.debug({ peer: to, dropped: messages.length }, `no connection to ${to}; dropped ${messages.length} message(s)`);
      return false;
    }
    // A peer that stops reading must not make this process buffer without bound; Raft resends.
    if (socket.bufferedAmount > 2 * this.maxFrameBytes) {
      this.logger.warn(
        { peer: to, dropped: messages.length, buffered: socket.bufferedAmount },
        `peer ${to} is not reading; dropped ${messages.length} message(s)`,
      );
      return false;
    }
    const frame = encodeBinaryFrame(messages);
    socket.send(frame);
    this.peerBytes(to).sent += frame.length;
    return true;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const dialer of this.dialers.values()) dialer.stop(true);
    this.dialers.clear();
    // Peers are told this node is going away, so they log a stop, not a lost connection; a peer that
    // does not answer the close within 100 ms is cut off all the same.
    const open = [...this.sockets.values()].filter((socket) => socket.readyState === WebSocket.OPEN);
    const closed = Promise.all(open.map((socket) => new Promise((resolve) => socket.once('close', resolve))));
    for (const socket of open) socket.close(GOING_AWAY, 'node stopping');
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 100).unref())]);
    for (const socket of [...open, ...this.sockets.values()]) socket.terminate();
    this.sockets.clear();
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    if (this.server !== null) {
      this.server.off('upgrade', this.onUpgrade);
      this.server.off('connection', this.onConnection);
      this.server.off('tlsClientError', this.onTlsClientError);
      if (this.ownsServer) {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server!.close(() => resolve()));
      }
    }
  }

  /** Where each TCP connection came from: a TLS socket that fails its handshake no longer knows. */
  private readonly remotes = new WeakMap<Socket, string>();
  private readonly onConnection = (socket: Socket): void => {
    this.remotes.set(socket, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
  };

  /**
   * A connection that failed the TLS handshake (plain ws:// or HTTP, no certificate, a certificate of
   * another CA) never reaches `/raft` or the HTTP API: Node closes it. It is logged with its remote
   * address, once a minute at most for the same reason, peer or client alike, since at this point
   * nothing tells them apart.
   */
  private readonly onTlsClientError = (error: Error, socket: TLSSocket): void => {
    // Node keeps the TCP socket under a server's TLS socket as `_parent` (not in its types); '?:?' if that ever changes.
    const raw = (socket as TLSSocket & { _parent?: unknown })._parent;
    const remote = (raw !== null && typeof raw === 'object' ? this.remotes.get(raw as Socket) : undefined) ?? '?:?';
    // Node sets authorizationError to the code of the failed verification (a string, whatever the types say).
    const verify = socket.authorizationError as unknown;
    const code = typeof verify === 'string' ? verify : ((verify as { code?: string } | null | undefined)?.code ?? null);
    const why = tlsClientRefusal(error, code);
    if (why === null) this.logger.debug({ remote, error: error.message }, 'a connection hung up during its TLS handshake');
    else if (this.throttle.allow(`tls|${why}|${remote.slice(0, remote.lastIndexOf(':'))}`)) {
      this.logger.warn({ reason: why, remote }, 'refused a TLS connection (peer or client)');
    }
    socket.destroy();
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (targetPath(req.url) !== RAFT_PATH || this.stopped) {
      // Someone else may serve this path on a shared server; on our own, or with no other upgrade
      // listener, nobody does: unanswered, the socket would stay open for good (and keep the server from closing).
      if (this.ownsServer || this.stopped || this.server?.listenerCount('upgrade') === 1) {
        socket.on('error', () => {});
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', () => socket.destroy());
      }
      return;
    }
    socket.on('error', () => {});
    const host = req.socket.remoteAddress ?? '?';
    const remote = `${host}:${req.socket.remotePort ?? '?'}`;
    const admitted = this.pending.admit(host, req.socket);
    if ('refused' in admitted) {
      this.logRefusal(admitted.refused, remote);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      admitted.watch(head.length, () => {
        this.logRefusal('it sent too much before finishing its handshake', remote);
        socket.destroy();
      });
      this.accept(ws, remote, admitted.done);
    });
  };

  /** Keeps a connection to `peer` open at `address`, replacing an older dialer. */
  private dial(peer: NodeId, address: PeerAddress): void {
    if (!this.started || this.stopped) return;
    this.dialers.get(peer)?.stop();
    const dialer = new Dialer({
      self: this.self,
      peer,
      url: `${this.options.tls === undefined ? 'ws' : 'wss'}://${formatAddress(address)}${RAFT_PATH}`,
      maxPayload: this.maxFrameBytes,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      logger: this.logger,
      onOpen: (socket) => {
        this.dialedHere.add(socket);
        this.adopt(peer, socket);
      },
      linked: () => this.sockets.get(peer)?.readyState === WebSocket.OPEN,
      ...(this.options.secret === undefined ? {} : { secret: this.options.secret }),
      ...(this.options.tls === undefined ? {} : { tls: this.options.tls }),
      cluster: () => this.cluster,
    });
    this.dialers.set(peer, dialer);
    dialer.start();
  }

  /** Stops dialing `peer` and closes the connection to it. */
  private drop(peer: NodeId): void {
    this.dialers.get(peer)?.stop();
    this.dialers.delete(peer);
    this.sockets.get(peer)?.terminate();
    this.sockets.delete(peer);
  }

  /**
   * An incoming connection must go through the handshake first (hello.ts): a hello from a peer (or
   * a welcome stranger) calling this node, and with a cluster secret, proofs both ways.
   */
  private accept(ws: WebSocket, remote: string, handshakeDone: () => void): void {
    ws.on('error', (error) => this.logger.warn({ error: error.message, remote }, 'error on an incoming peer connection'));
    answerHandshake(ws, {
      self: this.self,
      secret: this.options.secret ?? null,
      timeoutMs: this.options.helloTimeoutMs ?? 5000,
      admits: (id) => this.peers.has(id) || this.acceptStrangers,
      cluster: () => this.cluster,
      onDone: (peer) => {
        handshakeDone();
        this.adopt(peer, ws);
      },
      onRefused: (why) => this.logRefusal(why, remote),
    });
  }

  /** A refused connection is logged with where it came from, once a minute at most for the same reason and host. */
  private logRefusal(why: string, remote: string): void {
    if (this.throttle.allow(`refusal|${why}|${remote.slice(0, remote.lastIndexOf(':'))}`))
      this.logger.warn({ reason: why, remote }, 'refused a peer connection');
  }

  /**
   * Makes `socket` the connection to `peer`. It replaces an older one dialed the same way (a
   * restarted peer calling again). Against one dialed the other way (both sides dialed at once),
   * the one dialed by the smaller id wins, on both sides alike, and the other is closed.
   */
  private adopt(peer: NodeId, socket: WebSocket): void {
    if (this.stopped) {
      socket.terminate();
      return;
    }
    const previous = this.sockets.get(peer);
    if (previous !== undefined && previous !== socket) {
      const crossed = previous.readyState === WebSocket.OPEN && this.dialedHere.has(previous) !== this.dialedHere.has(socket);
      if (crossed && !this.dialedBySmaller(peer, socket)) {
        socket.terminate();
        return;
      }
      // Never silently: a peer that restarted calls again, and anything else that passed as it is worth knowing of.
      if (previous.readyState === WebSocket.OPEN && !crossed) this.logger.info({ peer }, `peer ${peer} connected again; its older connection is closed`);
      previous.terminate();
    }
    this.sockets.set(peer, socket);
    if (this.lost.delete(peer)) this.logger.info({ peer }, `connected to peer ${peer} again`);
    else this.logger.debug({ peer }, `connected to ${peer}`);
    const bytes = this.peerBytes(peer);
    socket.on('message', (data: Buffer) => {
      bytes.received += data.length;
      this.onFrame(peer, socket, data);
    });
    socket.on('error', (error) => {
      const tooBig = error.message.includes('Max payload size exceeded');
      this.logger.warn(
        { peer, error: error.message },
        `dropping connection to ${peer}: ${tooBig ? `a frame over ${this.maxFrameBytes} bytes` : error.message}`,
      );
    });
    socket.once('close', (code: number) => {
      if (this.sockets.get(peer) !== socket) return;
      this.sockets.delete(peer);
      if (this.stopped || !this.peers.has(peer)) return;
      if (code === GOING_AWAY) this.logger.info({ peer, code }, `peer ${peer} is stopping; calling it again until it is back`);
      else if (!this.lost.has(peer)) this.logger.warn({ peer, code }, `lost the connection to peer ${peer}; calling it again`);
      this.lost.add(peer);
      this.dialers.get(peer)?.wake();
    });
  }

  /** Whether `socket` to `peer` was dialed by the smaller of the two ids. */
  private dialedBySmaller(peer: NodeId, socket: WebSocket): boolean {
    return this.dialedHere.has(socket) ? this.self < peer : peer < this.self;
  }

  private onFrame(peer: NodeId, socket: WebSocket, data: Buffer): void {
    // Closing after a bad frame: what the peer sent behind it is dropped with the connection, unread.
    if (socket.readyState !== WebSocket.OPEN) return;
    let messages: PeerMessage[];
    try {
      messages = decodeFrame(data, this.maxFrameBytes);
      for (const m of messages) {
        if (m.from !== peer) throw new Error(`a message claims to be from "${m.from}" on the connection of "${peer}"`);
        if (m.to !== this.self) throw new Error(`a message for "${m.to}" reached "${this.self}"`);
      }
    } catch (error) {
      const message = (error as Error).message;
      const count = (this.badFrames.get(peer) ?? 0) + 1;
      this.badFrames.set(peer, count);
      if (this.throttle.allow(`bad frame|${peer}`))
        this.logger.warn({ peer, reason: message, badFramesSinceStart: count }, `dropping connection to ${peer}: bad frame`);
      socket.close(message.includes('over the limit') ? TOO_BIG : POLICY_VIOLATION, truncateReason(message));
      return;
    }
    for (const m of messages) {
      try {
        this.receive(m);
      } catch (error) {
        this.logger.error({ peer, type: m.type, error: (error as Error).message }, `handling a message from ${peer} failed`);
      }
    }
  }
}

/** Where bytes go when nobody counts them. */
const sink: PeerByteCounter = { sent: 0, received: 0 };
const uncounted: PeerByteCounters = () => sink;

/** The path of a request's target; null when the URL parser refuses it (`//`, `/\`: read as a host): an exception here would be uncaught. */
function targetPath(url: string | undefined): string | null {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}
