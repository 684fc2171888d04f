import WebSocket from 'ws';
import type { NodeId } from '../../core/types.ts';
import type { Logger } from '../../logger.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { encodeHello } from './hello.ts';

/**
 * Keeps one outgoing connection to a peer open: connects, says hello, and after any close
 * reconnects with backoff until stopped.
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
    backoff: BackoffOptions,
    private readonly logger: Logger,
    /** Called with each connection once it is open and the hello is sent. */
    private readonly onOpen: (socket: WebSocket) => void,
  ) {
    this.backoff = new Backoff(backoff);
  }

  start(): void {
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
    if (this.stopped) return;
    const socket = new WebSocket(this.url, { maxPayload: this.maxPayload, perMessageDeflate: false });
    this.socket = socket;
    socket.on('open', () => {
      this.backoff.reset();
      socket.send(encodeHello({ from: this.self, to: this.peer }));
      this.onOpen(socket);
    });
    socket.on('error', (error) => this.logger.debug(`connection to ${this.peer} failed`, { error: error.message }));
    socket.on('close', (code, reason) => {
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      if (code === 1008) this.logger.warn(`peer ${this.peer} refused the connection`, { reason: reason.toString() });
      const delay = this.backoff.next();
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, delay);
    });
  }
}
