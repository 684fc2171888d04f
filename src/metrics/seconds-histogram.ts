import type { DurationObserver } from './hooks.ts';

/**
 * A histogram of durations in seconds that records without allocating: a count per bucket in a
 * typed array, a sum and a total. prom-client's own Histogram allocates several objects on every
 * `observe`, too much for a call made per operation; `histogramMetric` shows this one at scrape time.
 */
export class SecondsHistogram implements DurationObserver {
  /** Observations per bucket (not cumulative); the last slot is above the highest bound (+Inf). */
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;

  /** `bounds`: the buckets' upper bounds, in seconds, ascending. */
  constructor(readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`histogram bounds must ascend: ${bounds.join(', ')}`);
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]!++;
    this.total++;
    this.sum += seconds;
  }

  /** Observations so far, in cumulative buckets as Prometheus shows them (`le`: at most that many seconds). */
  read(): { readonly buckets: readonly { readonly le: number; readonly count: number }[]; readonly count: number; readonly sum: number } {
    let cumulative = 0;
    const buckets = this.bounds.map((le, i) => ({ le, count: (cumulative += this.counts[i]!) }));
    return { buckets, count: this.total, sum: this.sum };
  }

  /** Forgets every observation (prom-client's `Registry.resetMetrics`). */
  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sum = 0;
  }
}

/** Commit latency buckets: from half a millisecond to the default request timeout (5 s). */
export const COMMIT_LATENCY_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** fsync buckets: from 0.1 ms (a fast SSD, or memory) to seconds (a disk in trouble). */
export const FSYNC_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Snapshot buckets: from 10 ms (a small state) to minutes (gigabytes). */
export const SNAPSHOT_DURATION_BOUNDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
