import type { Cancel, Clock } from './clock.ts';

/** One waiter's place in a DeadlineQueue: `settle` it when its answer comes. */
export interface Deadline<T> {
  /**
   * The waiter until it is settled or expired, then null: a settled deadline can wait in the queue
   * behind a live one, and must not keep its waiter (and the caller's promise) alive meanwhile.
   */
  item: T | null;
  readonly at: number;
}

/**
 * Deadlines that all run for the same length, such as every operation's request timeout: they fall
 * due in the order they were set, so one timer, for the earliest live one, serves them all. A timer
 * per operation cost a timer insertion, a removal and two closures each, many thousands a second.
 */
export class DeadlineQueue<T extends NonNullable<unknown>> {
  private queue: Deadline<T>[] = [];
  private head = 0;
  private cancelTimer: Cancel | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    /** Called with the item of each deadline that passes unsettled. */
    private readonly expire: (item: T) => void,
  ) {}

  /** Starts `item`'s deadline, `ms` from now (the clock's time, unless the caller has just read it). */
  add(item: T, now = this.clock.now()): Deadline<T> {
    const deadline: Deadline<T> = { item, at: now + this.ms };
    this.queue.push(deadline);
    if (!this.stopped) this.cancelTimer ??= this.clock.after(this.ms, () => this.fire());
    return deadline;
  }

  /** Ends `deadline` before it passes. Returns false when it had passed (or was settled) already. */
  settle(deadline: Deadline<T>): boolean {
    if (deadline.item === null) return false;
    deadline.item = null;
    // Answers come mostly in the order asked: the settled front goes at once, so the queue stays short.
    while (this.head < this.queue.length && this.queue[this.head]!.item === null) this.head++;
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
      const item = first.item;
      if (item !== null && first.at > now) break;
      this.head++;
      if (item !== null) {
        first.item = null;
        this.expire(item);
      }
    }
    this.compact();
    const next = this.queue[this.head];
    if (next !== undefined && !this.stopped) this.cancelTimer = this.clock.after(Math.max(0, next.at - now), () => this.fire());
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
