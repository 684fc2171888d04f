/**
 * Says whether a thing may be logged now: at most once per interval for the same key, so that a
 * peer or an outsider that keeps doing something wrong cannot flood the log.
 */
export class LogThrottle {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs = 60_000) {}

  /** Whether `key` may be logged now; if so, it counts as logged. */
  allow(key: string): boolean {
    const now = Date.now();
    if ((this.last.get(key) ?? -Infinity) > now - this.intervalMs) return false;
    // Keys come from remote hosts: bounded, forgetting all at once is fine (one more line each).
    if (this.last.size > 1000) this.last.clear();
    this.last.set(key, now);
    return true;
  }
}
