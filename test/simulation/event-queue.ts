/** A scheduled action of the simulation. */
interface Scheduled {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

/**
 * Actions ordered by simulated time, ties broken by the order they were scheduled in, so that a run
 * is the same every time for the same seed. A binary min-heap.
 */
export class EventQueue {
  private readonly heap: Scheduled[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(time: number, run: () => void): void {
    this.heap.push({ time, seq: this.seq++, run });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(this.heap[i]!, this.heap[parent]!)) break;
      [this.heap[i], this.heap[parent]] = [this.heap[parent]!, this.heap[i]!];
      i = parent;
    }
  }

  /** The earliest action, left in place. */
  peek(): Scheduled | undefined {
    return this.heap[0];
  }

  /** Removes and returns the earliest action, or undefined when none is left. */
  pop(): Scheduled | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined || this.heap.length === 0) return top;
    this.heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < this.heap.length && before(this.heap[l]!, this.heap[smallest]!)) smallest = l;
      if (r < this.heap.length && before(this.heap[r]!, this.heap[smallest]!)) smallest = r;
      if (smallest === i) return top;
      [this.heap[i], this.heap[smallest]] = [this.heap[smallest]!, this.heap[i]!];
      i = smallest;
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
