import type { Logger } from '../logger.ts';
import type { Clock } from './clock.ts';

/**
 * Tells the operator how a restart's replay goes: a node applies its log again, up to the commit
 * index it found on disk, before it is back where it stopped. Says how much there is, how far it
 * got about once a second, and when it is done.
 */
export class ReplayProgress {
  private readonly startedAt: number;
  private reportedAt: number;
  private done: boolean;

  constructor(
    private readonly target: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.startedAt = this.reportedAt = clock.now();
    this.done = target === 0;
    if (!this.done) logger.info({ entries: target }, `replaying the log: ${target} committed entries to apply`);
  }

  /** Entries up to `index` are applied. */
  applied(index: number): void {
    if (this.done) return;
    const now = this.clock.now();
    if (index >= this.target) {
      this.done = true;
      const ms = Math.round(now - this.startedAt);
      this.logger.info({ entries: this.target, ms }, `replayed the log: ${this.target} entries in ${ms} ms`);
    } else if (now - this.reportedAt >= 1000) {
      this.reportedAt = now;
      this.logger.info({ applied: index, entries: this.target }, `replaying the log: ${index} of ${this.target} entries applied`);
    }
  }
}
