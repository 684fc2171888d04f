import type { Socket } from 'node:net';

/** Bounds on connections that have not finished their handshake: anyone who reaches the port can open one. */
export interface HandshakeLimits {
  /** At most this many at once, in all. Default 64. */
  readonly pending?: number;
  /** At most this many at once from one remote host. Default 8. */
  readonly pendingPerHost?: number;
  /** At most this many bytes received on one before it is done (a hello and a proof take a few hundred). Default 64 KiB. */
  readonly bytes?: number;
}

/**
 * Keeps count of the connections still in their handshake, so that a flood of connections that
 * never say hello, or say it slowly, or send megabytes first, costs this node a bounded amount of
 * sockets and memory. A connection that finished its handshake is a peer's and is no longer
 * counted: there is one per peer.
 */
export class PendingHandshakes {
  private readonly byHost = new Map<string, number>();
  private total = 0;
  private readonly limits: Required<HandshakeLimits>;

  constructor(limits: HandshakeLimits = {}) {
    this.limits = { pending: 64, pendingPerHost: 8, bytes: 64 * 1024, ...limits };
  }

  /**
   * Counts a new connection from `host`, or returns why it is refused. `done` ends the count (call it
   * once the handshake finished; a closed socket ends it too; a second call does nothing). `watch`
   * begins counting the bytes it receives, `onTooMuch` called past the limit: only once the WebSocket
   * library reads the socket, since a 'data' listener would set it flowing before that, and bytes
   * sent right behind the upgrade request would go to the counter alone.
   */
  admit(host: string, socket: Socket): PendingHandshake | { refused: string } {
    const fromHost = this.byHost.get(host) ?? 0;
    if (this.total >= this.limits.pending) return { refused: `too many connections in their handshake (${this.total})` };
    if (fromHost >= this.limits.pendingPerHost) return { refused: `too many connections in their handshake from ${host} (${fromHost})` };
    this.total++;
    this.byHost.set(host, fromHost + 1);
    let counted = true;
    let count: ((chunk: Buffer) => void) | null = null;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      if (count !== null) socket.off('data', count);
      this.total--;
      const left = (this.byHost.get(host) ?? 1) - 1;
      if (left === 0) this.byHost.delete(host);
      else this.byHost.set(host, left);
    };
    socket.once('close', done);
    const watch = (alreadyReceived: number, onTooMuch: () => void): void => {
      if (!counted) return;
      let received = alreadyReceived;
      count = (chunk: Buffer): void => {
        received += chunk.length;
        if (received <= this.limits.bytes) return;
        done();
        onTooMuch();
      };
      socket.on('data', count);
    };
    return { done, watch };
  }
}

/** A connection counted as in its handshake. */
export interface PendingHandshake {
  readonly done: () => void;
  readonly watch: (alreadyReceived: number, onTooMuch: () => void) => void;
}
