import type { Cancel, Clock } from '../../src/runtime/clock.ts';
import { EventQueue } from './event-queue.ts';

/**
 * Simulated time for the real runtime: timers fire only when the simulation advances, in a fixed
 * order, and deferred work runs when the simulation drains it. Each node gets its own view, so a
 * crash can drop everything that node had scheduled, and a drifting node can run fast or slow.
 */
export class ManualClock {
  private readonly queue = new EventQueue();
  private deferred: (() => void)[] = [];
  time = 0;

  /** Schedules `fn` at `delay` ms from now, on the simulation's own account. */
  after(delay: number, fn: () => void): void {
    this.queue.schedule(this.time + delay, fn);
  }

  /**
   * A clock for one node: its timers run at `rate` times the nominal speed, and `kill` silences it.
   * `pause` stops the process, as SIGSTOP would: its time goes on, but nothing of it runs; timers
   * and deferred work that fall due meanwhile run at `resume`, once each, in order.
   */
  view(rate = 1): Clock & { kill(): void; pause(): void; resume(): void } {
    let alive = true;
    let held: (() => void)[] | null = null;
    const whenRunning = (fn: () => void): void => {
      if (held === null) fn();
      else held.push(fn);
    };
    const at = (ms: number, fn: () => void): Cancel => {
      let cancelled = false;
      this.queue.schedule(this.time + ms / rate, () =>
        whenRunning(() => {
          if (alive && !cancelled) fn();
        }),
      );
      return () => (cancelled = true);
    };
    return {
      now: () => this.time * rate,
      after: at,
      every: (ms, fn) => {
        let cancelled = false;
        const tick = (): void => {
          if (cancelled) return;
          fn();
          at(ms, tick);
        };
        at(ms, tick);
        return () => (cancelled = true);
      },
      defer: (fn) => {
        this.deferred.push(() =>
          whenRunning(() => {
            if (alive) fn();
          }),
        );
      },
      kill: () => (alive = false),
      pause: () => {
        held ??= [];
      },
      resume: () => {
        const due = held ?? [];
        held = null;
        for (const fn of due) fn();
      },
    };
  }

  /** Runs deferred work and the promise callbacks it causes until nothing is left. */
  async settle(): Promise<void> {
    for (;;) {
      while (this.deferred.length > 0) {
        const batch = this.deferred;
        this.deferred = [];
        for (const fn of batch) fn();
      }
      // Every pending promise callback runs before this resolves.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.deferred.length === 0) return;
    }
  }

  /** Advances to the next timer and runs it; false when none is left before `end` (a later one stays queued). */
  async step(end: number): Promise<boolean> {
    await this.settle();
    const next = this.queue.peek();
    if (next === undefined || next.time > end) return false;
    this.queue.pop();
    this.time = next.time;
    next.run();
    return true;
  }
}
