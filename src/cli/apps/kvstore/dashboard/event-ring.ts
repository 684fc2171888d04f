/**
 * The last `capacity` items pushed, oldest first: the dashboard's recent events. Bounded, so a node
 * that runs for months and goes through many elections keeps only what the page shows.
 */
export class EventRing<T> {
  private readonly items: (T | undefined)[];
  /** Where the next item goes. */
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`an event ring's capacity must be a positive integer, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  /** Adds `item`, forgetting the oldest one when the ring is full. */
  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** The items held, oldest first. */
  list(): T[] {
    const start = (this.next - this.count + this.capacity) % this.capacity;
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(start + i) % this.capacity] as T);
    return out;
  }

  /** How many items it holds: at most `capacity`. */
  get size(): number {
    return this.count;
  }
}
