import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long a browser waits before it reconnects a stream that dropped, in ms (the `retry:` field). */
export const RECONNECT_MS = 1000;

/**
 * The open server-sent event streams (`text/event-stream`) of one node's dashboard, and what is sent
 * down all of them. A stream whose client does not keep up misses messages rather than making the
 * node buffer them: each message is the whole view, so the next one makes up for it.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();

  constructor(
    /** The most streams open at once: the dashboard needs no token, so their number is bounded. */
    readonly maxClients = 32,
  ) {}

  /**
   * Answers `req` with a stream, sends it `first` (the current message, when there is one) and keeps
   * it until the client goes away or `close()`. Refuses with a 503 when `maxClients` are open.
   * Returns whether it opened the stream.
   */
  open(req: IncomingMessage, res: ServerResponse, first: string | null): boolean {
    if (this.clients.size >= this.maxClients) {
      const text = JSON.stringify({ error: `too many dashboard streams open on this node (at most ${this.maxClients}); close one and reload` });
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'retry-after': '5' });
      res.end(text);
      return false;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies that buffer responses (nginx) would hold the events back.
      'x-accel-buffering': 'no',
    });
    // No Nagle: each view should leave at once, not wait for the next.
    req.socket.setNoDelay(true);
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    if (first !== null) res.write(first);
    this.clients.add(res);
    res.once('close', () => this.clients.delete(res));
    return true;
  }

  /** Sends `message`, one event made by `formatEvent`, to every stream that keeps up. */
  broadcast(message: string): void {
    for (const res of this.clients) {
      if (!res.writableNeedDrain) res.write(message);
    }
  }

  /** How many streams are open. */
  get size(): number {
    return this.clients.size;
  }

  /** Ends every stream (the browsers reconnect, to this node once it is back). */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

/**
 * One server-sent event: `event: NAME` and the data as one line of JSON (JSON.stringify escapes
 * every line break inside strings, so the data cannot end the event early).
 */
export function formatEvent(event: string, data: unknown): string {
  if (!/^[A-Za-z0-9_-]+$/.test(event)) throw new Error(`an event name must be letters, digits, "_" or "-", got ${JSON.stringify(event)}`);
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
