import type { Cancel, Clock } from './clock.ts';

/**
 * Timers with an owner: each one set through it is cancelled by `cancelAll`, so an instance that stops
 * leaves nothing behind to fire later (or to keep the process alive).
 */
export class OwnedTimers {
  private readonly live = new Set<Cancel>();

  constructor(private readonly clock: Clock) {}

  /** Runs `fn` once after `ms`, unless cancelled first. */
  after(ms: number, fn: () => void): Cancel {
    const cancel = this.clock.after(ms, () => {
      this.live.delete(cancel);
      fn();
    });
    return this.own(cancel);
  }

  /** Runs `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Cancel {
    return this.own(this.clock.every(ms, fn));
  }

  /** Cancels every timer still live. */
  cancelAll(): void {
    for (const cancel of this.live) cancel();
    this.live.clear();
  }

  private own(cancel: Cancel): Cancel {
    this.live.add(cancel);
    return () => {
      this.live.delete(cancel);
      cancel();
    };
  }
}
