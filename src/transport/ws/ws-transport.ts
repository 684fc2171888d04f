import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { NodeId } from '../../core/types.ts';
import { formatAddress, type PeerAddress } from '../../config.ts';
import { silentLogger, type Logger } from '../../logger.ts';
import { decodeFrame, encodeFrame } from '../codec.ts';
import type { PeerMessage } from '../peer-messages.ts';
import type { ReceiveHandler, Transport } from '../transport.ts';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import { Dialer } from './dialer.ts';
import { decodeAuth, decodeHello, encodeChallenge, newNonce, proof, sameProof, type Hello } from './hello.ts';

/** The path peers connect to. */
export const RAFT_PATH = '/raft';

/** Close codes: 1008 policy violation (a bad or unexpected frame), 1009 a frame too big. */
const POLICY_VIOLATION = 1008;
const TOO_BIG = 1009;

/** How a WebSocketTransport is set up. */
export interface WebSocketTransportOptions {
  readonly self: NodeId;
  /** The first peers, and self: its address is where the transport listens when it owns its server. `setPeers` changes the peers. */
  readonly members: ReadonlyMap<NodeId, PeerAddress>;
  /** Share this HTTP server (its owner listens); without it the transport listens on its own address. */
  readonly server?: Server;
  readonly logger?: Logger;
  /** The largest frame accepted, in bytes. Default 16 MiB. */
  readonly maxFrameBytes?: number;
  readonly backoff?: BackoffOptions;
  /** How long an accepted connection may take to finish its handshake, ms. Default 5000. */
  readonly helloTimeoutMs?: number;
  /**
   * The cluster secret: every connection, both ways, proves that its two sides know it before any
   * message passes (see hello.ts). Absent: a hello alone opens a connection, and anyone who reaches
   * the port can speak as a member.
   */
  readonly secret?: string;
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
  /** The dialer of each peer, while started. */
  private readonly dialers = new Map<NodeId, Dialer>();
  private readonly wss: WebSocketServer;
  private server: Server | null = null;
  private ownsServer = false;
  private receive: ReceiveHandler = () => {};
  private started = false;
  private stopped = false;
  /** When each refusal (its reason and the remote host) was last logged: each is logged once a minute at most. */
  private readonly refusalsLogged = new Map<string, number>();

  constructor(private readonly options: WebSocketTransportOptions) {
    this.self = options.self;
    this.logger = options.logger ?? silentLogger;
    this.maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
    if (!options.members.has(this.self)) throw new Error(`WebSocketTransport: self "${this.self}" is not among the members`);
    for (const [peer, address] of options.members) if (peer !== this.self) this.peers.set(peer, address);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameBytes, perMessageDeflate: false });
  }

  async start(receive: ReceiveHandler): Promise<void> {
    if (this.started) throw new Error('WebSocketTransport: start() called twice');
    this.started = true;
    this.receive = receive;
    this.ownsServer = this.options.server === undefined;
    const server = this.options.server ?? createServer((_req, res) => res.writeHead(404).end());
    this.server = server;
    server.on('upgrade', this.onUpgrade);
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
      this.logger.debug(`peers changed: ${[...this.peers.keys()].join(', ') || 'none'}`, { added, removed, acceptStrangers });
    }
  }

  send(to: NodeId, messages: readonly PeerMessage[]): boolean {
    const socket = this.sockets.get(to);
    if (socket === undefined || socket.readyState !== WebSocket.OPEN) {
      this.logger.debug(`no connection to ${to}; dropped ${messages.length} message(s)`);
      return false;
    }
    // A peer that stops reading must not make this process buffer without bound; Raft resends.
    if (socket.bufferedAmount > 2 * this.maxFrameBytes) {
      this.logger.warn(`peer ${to} is not reading; dropped ${messages.length} message(s)`, { buffered: socket.bufferedAmount });
      return false;
    }
    socket.send(encodeFrame(messages));
    return true;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const dialer of this.dialers.values()) dialer.stop();
    this.dialers.clear();
    for (const socket of this.sockets.values()) socket.terminate();
    this.sockets.clear();
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    if (this.server !== null) {
      this.server.off('upgrade', this.onUpgrade);
      if (this.ownsServer) {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server!.close(() => resolve()));
      }
    }
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== RAFT_PATH || this.stopped) {
      // Someone else may serve this path on a shared server; on our own, nobody does.
      if (this.ownsServer || this.stopped) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        socket.destroy();
      }
      return;
    }
    socket.on('error', () => {});
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, remote));
  };

  /** Keeps a connection to `peer` open at `address`, replacing an older dialer. */
  private dial(peer: NodeId, address: PeerAddress): void {
    if (!this.started || this.stopped) return;
    this.dialers.get(peer)?.stop();
    const dialer = new Dialer(
      this.self,
      peer,
      `ws://${formatAddress(address)}${RAFT_PATH}`,
      this.maxFrameBytes,
      this.options.backoff ?? DEFAULT_BACKOFF,
      this.logger,
      (socket) => {
        this.dialedHere.add(socket);
        this.adopt(peer, socket);
      },
      () => this.sockets.get(peer)?.readyState === WebSocket.OPEN,
      this.options.secret ?? null,
    );
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
  private accept(ws: WebSocket, remote: string): void {
    ws.on('error', (error) => this.logger.warn('error on an incoming peer connection', { error: error.message, remote }));
    const timer = setTimeout(() => ws.close(POLICY_VIOLATION, 'no handshake in time'), this.options.helloTimeoutMs ?? 5000);
    ws.once('close', () => clearTimeout(timer));
    const refuse = (error: unknown): void => {
      clearTimeout(timer);
      const why = (error as Error).message;
      this.logRefusal(why, remote);
      ws.close(POLICY_VIOLATION, truncateReason(why));
    };
    const secret = this.options.secret ?? null;
    ws.once('message', (data: Buffer) => {
      let hello: Hello;
      try {
        hello = decodeHello(data);
        if (hello.from === this.self || !(this.peers.has(hello.from) || this.acceptStrangers))
          throw new Error(`"${hello.from}" is not a peer in the configuration`);
        if (hello.to !== this.self) throw new Error(`it called "${hello.to}", but this is "${this.self}"`);
        if (secret !== null && hello.nonce === undefined) throw new Error(`"${hello.from}" has no cluster secret, and this cluster requires one`);
        if (secret === null && hello.nonce !== undefined) throw new Error(`"${hello.from}" has a cluster secret, and this node has none`);
      } catch (error) {
        refuse(error);
        return;
      }
      if (secret === null) {
        clearTimeout(timer);
        this.adopt(hello.from, ws);
        return;
      }
      const calledNonce = newNonce();
      ws.send(encodeChallenge({ nonce: calledNonce, proof: proof(secret, 'called', hello, calledNonce) }));
      ws.once('message', (answer: Buffer) => {
        try {
          if (!sameProof(decodeAuth(answer), proof(secret, 'dialer', hello, calledNonce))) {
            throw new Error(`"${hello.from}" failed the handshake: its proof does not match the cluster secret`);
          }
        } catch (error) {
          refuse(error);
          return;
        }
        clearTimeout(timer);
        this.adopt(hello.from, ws);
      });
    });
  }

  /** A refused connection is logged with where it came from, once a minute at most for the same reason and host. */
  private logRefusal(why: string, remote: string): void {
    const key = `${why}|${remote.slice(0, remote.lastIndexOf(':'))}`;
    const now = Date.now();
    if ((this.refusalsLogged.get(key) ?? -Infinity) > now - 60_000) return;
    if (this.refusalsLogged.size > 1000) this.refusalsLogged.clear();
    this.refusalsLogged.set(key, now);
    this.logger.warn('refused a peer connection', { reason: why, remote });
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
      previous.terminate();
    }
    this.sockets.set(peer, socket);
    if (this.lost.delete(peer)) this.logger.info(`connected to peer ${peer} again`);
    else this.logger.debug(`connected to ${peer}`);
    socket.on('message', (data: Buffer) => this.onFrame(peer, socket, data));
    socket.on('error', (error) => {
      const tooBig = error.message.includes('Max payload size exceeded');
      this.logger.warn(`dropping connection to ${peer}: ${tooBig ? `a frame over ${this.maxFrameBytes} bytes` : error.message}`);
    });
    socket.once('close', () => {
      if (this.sockets.get(peer) !== socket) return;
      this.sockets.delete(peer);
      if (this.stopped || !this.peers.has(peer)) return;
      if (!this.lost.has(peer)) this.logger.warn(`lost the connection to peer ${peer}; calling it again`);
      this.lost.add(peer);
      this.dialers.get(peer)?.wake();
    });
  }

  /** Whether `socket` to `peer` was dialed by the smaller of the two ids. */
  private dialedBySmaller(peer: NodeId, socket: WebSocket): boolean {
    return this.dialedHere.has(socket) ? this.self < peer : peer < this.self;
  }

  private onFrame(peer: NodeId, socket: WebSocket, data: Buffer): void {
    let messages: PeerMessage[];
    try {
      messages = decodeFrame(data, this.maxFrameBytes);
      for (const m of messages) {
        if (m.from !== peer) throw new Error(`a message claims to be from "${m.from}" on the connection of "${peer}"`);
        if (m.to !== this.self) throw new Error(`a message for "${m.to}" reached "${this.self}"`);
      }
    } catch (error) {
      const message = (error as Error).message;
      this.logger.warn(`dropping connection to ${peer}: bad frame`, { reason: message });
      socket.close(message.includes('over the limit') ? TOO_BIG : POLICY_VIOLATION, truncateReason(message));
      return;
    }
    for (const m of messages) {
      try {
        this.receive(m);
      } catch (error) {
        this.logger.error(`handling a message from ${peer} failed`, { type: m.type, error: (error as Error).message });
      }
    }
  }
}

/** A close reason must fit in 123 bytes. */
function truncateReason(reason: string): string {
  return Buffer.byteLength(reason) <= 120 ? reason : `${Buffer.from(reason).subarray(0, 117).toString()}...`;
}
