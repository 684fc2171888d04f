/**
 * Commits per second, from the commit index sampled at intervals: the rate of each interval (kept
 * for the last `keep` samples, for the page's chart) and a steadier figure over the last few.
 */
export class CommitRate {
  private last: { index: number; at: number } | null = null;
  private readonly rates: number[] = [];
  /** The samples of the steadier figure: index and time, oldest first, at most `window` + 1. */
  private readonly recent: { index: number; at: number }[] = [];

  constructor(
    /** How many per-interval rates are kept. */
    private readonly keep = 60,
    /** Over how many intervals `perSecond` is measured. */
    private readonly window = 4,
  ) {}

  /** Records the commit index `index` seen at `at` (ms). A sample no later than the last one is ignored. */
  sample(index: number, at: number): void {
    if (this.last !== null && at <= this.last.at) return;
    if (this.last !== null) {
      // The commit index never goes back; if a caller's does (a restarted node), count nothing rather than a negative rate.
      this.rates.push((Math.max(0, index - this.last.index) * 1000) / (at - this.last.at));
      if (this.rates.length > this.keep) this.rates.shift();
    }
    this.last = { index, at };
    this.recent.push(this.last);
    if (this.recent.length > this.window + 1) this.recent.shift();
  }

  /** Entries committed per second over the last `window` intervals; 0 before two samples. */
  perSecond(): number {
    const first = this.recent[0];
    const last = this.recent.at(-1);
    if (first === undefined || last === undefined || last.at === first.at) return 0;
    return (Math.max(0, last.index - first.index) * 1000) / (last.at - first.at);
  }

  /** The rate of each interval, oldest first. */
  history(): number[] {
    return [...this.rates];
  }
}
