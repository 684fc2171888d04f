import type { LatencySummary } from './histogram.ts';
import { forkScript } from './children.ts';
import type { PingPongProtocol } from './protocol.ts';

/** Messages in flight when the message rate is measured: as many as the most operations the bench keeps in flight. */
export const RATE_WINDOW = 1024;

/** The loopback limit between two processes for one message size. */
export interface LoopbackLimit {
  readonly bytes: number;
  /** One message there and back, one at a time. */
  readonly roundTrip: LatencySummary;
  /** Messages echoed per second with RATE_WINDOW in flight. */
  readonly messagesPerSec: number;
}

/**
 * The loopback limits between two processes over a `ws` WebSocket, as Graft's peers talk: the round
 * trip of one message at a time, and the rate of echoed messages with many in flight, for each size.
 */
export async function measureLoopback(sizes: readonly number[], seconds: number): Promise<LoopbackLimit[]> {
  const server = forkScript<PingPongProtocol>('loopback echo server', './pingpong.ts');
  const client = forkScript<PingPongProtocol>('loopback client', './pingpong.ts');
  try {
    const port = await server.call('listen', {});
    const limits: LoopbackLimit[] = [];
    for (const bytes of sizes) {
      const roundTrip = await client.call('roundTrip', { port, bytes, seconds });
      const messagesPerSec = await client.call('rate', { port, bytes, window: RATE_WINDOW, seconds });
      limits.push({ bytes, roundTrip, messagesPerSec });
    }
    return limits;
  } finally {
    await Promise.all([server.stop(), client.stop()]);
  }
}
