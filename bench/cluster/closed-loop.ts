import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from './histogram.ts';
import type { LoadResult } from './protocol.ts';

/** How long a proposer pauses after a failed operation, so that a cluster without a leader is not spun on. */
const PAUSE_AFTER_ERROR_MS = 10;

/**
 * A closed-loop load: `concurrency` workers, each sending operation `op(n)` (n counts up across all
 * workers), awaiting it, and sending the next, until `seconds` have passed; every latency is recorded.
 * Operations still in flight at the deadline are awaited and counted.
 */
export async function closedLoop(concurrency: number, seconds: number, op: (n: number) => Promise<unknown>): Promise<LoadResult> {
  const histogram = new Histogram();
  let next = 0;
  let ops = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        await op(next++);
        histogram.record(performance.now() - sent);
        ops++;
      } catch {
        errors++;
        await sleep(PAUSE_AFTER_ERROR_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ops, errors, elapsedMs: performance.now() - started, latency: histogram.summary() };
}
