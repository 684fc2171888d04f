/** Latency percentiles and extremes, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** Bucket width: each bucket is 1% wider than the one before, so a percentile is exact to within 1%. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Buckets cover 1 µs to about 30 minutes; anything slower lands in the last one (the max is kept exactly). */
const BUCKETS = Math.ceil(Math.log(1.8e9) / LOG_GROWTH) + 1;

/**
 * A latency histogram with logarithmic buckets (1% apart, from 1 µs): recording allocates nothing,
 * so it does not add to the garbage the measured code makes, and its memory is fixed however long
 * the run.
 */
export class Histogram {
  private readonly buckets = new Float64Array(BUCKETS);
  private count = 0;
  private sumMs = 0;
  private maxMs = 0;

  /** Records one latency, in milliseconds. */
  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    this.buckets[Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH))]!++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Percentiles (the upper edge of the bucket each falls in, at most the max), mean and max. */
  summary(): LatencySummary {
    return {
      count: this.count,
      meanMs: this.count === 0 ? 0 : this.sumMs / this.count,
      p50Ms: this.percentile(0.5),
      p90Ms: this.percentile(0.9),
      p99Ms: this.percentile(0.99),
      p999Ms: this.percentile(0.999),
      maxMs: this.maxMs,
    };
  }

  private percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return Math.min(this.maxMs, GROWTH ** (i + 1) / 1000);
    }
    return this.maxMs;
  }
}
