/**
 * Values under integer keys that arrive in about ascending order and mostly leave oldest first, as
 * operation numbers and log indexes do: a ring of slots addressed by the key itself. A Map used that
 * way (thousands in, thousands out, every second) rehashes into a new table every few thousand
 * operations, and a busy leader's four such tables were a quarter of what its young generation
 * promoted; a ring reuses its slots.
 *
 * The ring covers keys [low, low + capacity). It grows, by doubling, only while it is at least a
 * quarter full, so its slots stay within four per value held. A key it cannot take without breaking
 * that (one far from the others, as a hostile client may send) is kept in a Map on the side.
 */
export class SeqWindow<V extends NonNullable<unknown>> {
  private slots: (V | undefined)[] = new Array<V | undefined>(INITIAL_CAPACITY);
  private mask = INITIAL_CAPACITY - 1;
  /** The lowest key the ring holds, when it holds any; every slot below `low` and from `end` on is empty. */
  private low = 0;
  /** One past the highest key the ring holds. */
  private end = 0;
  private inRing = 0;
  private strays: Map<number, V> | null = null;

  /** How many values are held. */
  get size(): number {
    return this.inRing + (this.strays?.size ?? 0);
  }

  get(key: number): V | undefined {
    const value = key >= this.low && key < this.end ? this.slots[key & this.mask] : undefined;
    // A stray can lie within the ring's span, when the ring moved after it went aside.
    return value ?? this.strays?.get(key);
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): void {
    if (this.strays?.has(key) === true || !this.fits(key)) {
      this.strays ??= new Map();
      this.strays.set(key, value);
      return;
    }
    const slot = key & this.mask;
    if (this.inRing === 0) {
      this.low = key;
      this.end = key + 1;
    } else if (key < this.low) this.low = key;
    else if (key >= this.end) this.end = key + 1;
    if (this.slots[slot] === undefined) this.inRing++;
    this.slots[slot] = value;
  }

  delete(key: number): boolean {
    if (key >= this.low && key < this.end) {
      const slot = key & this.mask;
      if (this.slots[slot] !== undefined) {
        this.slots[slot] = undefined;
        this.inRing--;
        this.trim();
        return true;
      }
    }
    return this.strays?.delete(key) ?? false;
  }

  /** Removes every value under a key below `key`. */
  deleteBelow(key: number): void {
    const stop = Math.min(key, this.end);
    for (let k = this.low; k < stop; k++) {
      const slot = k & this.mask;
      if (this.slots[slot] !== undefined) {
        this.slots[slot] = undefined;
        this.inRing--;
      }
    }
    if (stop > this.low) this.low = stop;
    this.trim();
    if (this.strays !== null) for (const k of this.strays.keys()) if (k < key) this.strays.delete(k);
  }

  /** The lowest key held, or undefined when empty. */
  firstKey(): number | undefined {
    let first = this.inRing > 0 ? this.low : undefined;
    if (this.strays !== null) for (const k of this.strays.keys()) if (first === undefined || k < first) first = k;
    return first;
  }

  /** Every [key, value], in ascending order of key. */
  entries(): [number, V][] {
    const all: [number, V][] = [];
    for (let k = this.low; k < this.end; k++) {
      const value = this.slots[k & this.mask];
      if (value !== undefined) all.push([k, value]);
    }
    if (this.strays !== null && this.strays.size > 0) {
      for (const entry of this.strays) all.push(entry);
      all.sort((a, b) => a[0] - b[0]);
    }
    return all;
  }

  /** Every value, in ascending order of key. */
  values(): V[] {
    return this.entries().map(([, value]) => value);
  }

  clear(): void {
    this.slots = new Array<V | undefined>(INITIAL_CAPACITY);
    this.mask = INITIAL_CAPACITY - 1;
    this.low = 0;
    this.end = 0;
    this.inRing = 0;
    this.strays = null;
  }

  /** Whether the ring can hold `key`, growing if it may. */
  private fits(key: number): boolean {
    if (!Number.isSafeInteger(key)) return false;
    if (this.inRing === 0) return true;
    const low = Math.min(this.low, key);
    const span = Math.max(this.end, key + 1) - low;
    if (span <= this.slots.length) return true;
    let capacity = this.slots.length;
    while (capacity < span) capacity *= 2;
    if (capacity <= MAX_CAPACITY && capacity <= 4 * (this.inRing + 1)) {
      this.resize(capacity);
      return true;
    }
    return key >= this.end && this.leaveBehind(key);
  }

  /**
   * Moves the ring up to reach `key`, above it, if only a few values (a quarter at most) are left
   * below the ring's new span: they go aside. One operation waiting long (for its deadline) while
   * thousands pass would otherwise keep the ring where it is and send every newer key aside, and
   * `firstKey` would walk them all each time.
   */
  private leaveBehind(key: number): boolean {
    const newLow = key - this.slots.length + 1;
    const stop = Math.min(newLow, this.end);
    let behind = 0;
    for (let k = this.low; k < stop; k++) if (this.slots[k & this.mask] !== undefined) behind++;
    if (behind * 4 > this.inRing) return false;
    for (let k = this.low; k < stop; k++) {
      const value = this.slots[k & this.mask];
      if (value === undefined) continue;
      (this.strays ??= new Map()).set(k, value);
      this.slots[k & this.mask] = undefined;
    }
    this.inRing -= behind;
    if (stop > this.low) this.low = stop;
    this.trim();
    return true;
  }

  private resize(capacity: number): void {
    const slots = new Array<V | undefined>(capacity);
    const mask = capacity - 1;
    for (let k = this.low; k < this.end; k++) slots[k & mask] = this.slots[k & this.mask];
    this.slots = slots;
    this.mask = mask;
  }

  /** Moves `low` up past empty slots and `end` down past them, so the ring spans only what it holds. */
  private trim(): void {
    if (this.inRing === 0) {
      this.end = this.low;
      return;
    }
    while (this.slots[this.low & this.mask] === undefined) this.low++;
    while (this.slots[(this.end - 1) & this.mask] === undefined) this.end--;
  }
}

const INITIAL_CAPACITY = 16;
/** 2^20 slots (8 MiB): a window wider than that is a stray's business. */
const MAX_CAPACITY = 1 << 20;
