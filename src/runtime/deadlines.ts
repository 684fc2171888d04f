import type { Cancel, Clock } from './clock.ts';

/**
 * What a DeadlineQueue holds: a waiter that carries its own deadline, so that the queue needs no
 * object of its own per waiter. A settled waiter can stay in the queue behind one still waiting:
 * it should let go of what it no longer needs (its caller's promise) when it is settled.
 */
export interface Expiring {
  /** When it expires, on the queue's clock; set by `add`. */
  expiresAt: number;
  /** True from `add` until it is settled or expires. */
  waiting: boolean;
}

/**
 * Deadlines that all run for the same length, such as every operation's request timeout: they fall
 * due in the order they were set, so one timer, for the earliest live one, serves them all. A timer
 * per operation cost a timer insertion, a removal and two closures each, many thousands a second.
 */
export class DeadlineQueue<T extends Expiring> {
  private queue: T[] = [];
  private head = 0;
  private cancelTimer: Cancel | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    /** Called with each waiter whose deadline passes unsettled. */
    private readonly expire: (item: T) => void,
  ) {}

  /** Starts `item`'s deadline, `ms` from now (the clock's time, unless the caller has just read it). */
  add(item: T, now = this.clock.now()): void {
    item.expiresAt = now + this.ms;
    item.waiting = true;
    this.queue.push(item);
    if (!this.stopped) this.cancelTimer ??= this.clock.after(this.ms, () => this.fire());
  }

  /** Ends `item`'s deadline before it passes. Returns false when it had passed (or was settled) already. */
  settle(item: T): boolean {
    if (!item.waiting) return false;
    item.waiting = false;
    // Answers come mostly in the order asked: the settled front goes at once, so the queue stays short.
    while (this.head < this.queue.length && !this.queue[this.head]!.waiting) this.head++;
    this.compact();
    return true;
  }

  /** For an owner that stops and answers its waiters itself: nothing expires after this. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private fire(): void {
    this.cancelTimer = null;
    const now = this.clock.now();
    while (this.head < this.queue.length) {
      const first = this.queue[this.head]!;
      if (first.waiting && first.expiresAt > now) break;
      this.head++;
      if (first.waiting) {
        first.waiting = false;
        this.expire(first);
      }
    }
    this.compact();
    const next = this.queue[this.head];
    if (next !== undefined && !this.stopped) this.cancelTimer = this.clock.after(Math.max(0, next.expiresAt - now), () => this.fire());
  }

  /**
   * Forgets the passed front: at once when nothing is left, else now and then, as a copy costs as much
   * as the queue is long. The timer is left to run out: one operation at a time would otherwise set
   * and clear a timer each.
   */
  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
