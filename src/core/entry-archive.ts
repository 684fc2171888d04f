import type { Entry, EntryKind, SessionStamp } from './types.ts';

/** Per entry in a batch's numbers: term, kind, the stamp's three fields (session -1: no stamp), where its data ends. */
const FIELDS = 6;
const KINDS: readonly EntryKind[] = ['normal', 'noop', 'config', 'session'];
const KIND_CODES: Readonly<Record<EntryKind, number>> = { normal: 0, noop: 1, config: 2, session: 3 };

/** Entries applied together, stored as one array of numbers and one string of their data. */
interface Batch {
  readonly first: number;
  readonly count: number;
  readonly numbers: Float64Array;
  readonly text: string;
}

/**
 * Applied entries the log still keeps (for a follower that falls behind, §5.3, until a snapshot covers
 * them, §7), stored compactly: per batch applied, one array of numbers and one string of data, instead
 * of three objects per entry. As objects they lived long enough to be copied and promoted by the
 * garbage collector, which on a busy node was most of what it promoted. Entries read back are new
 * objects with the same fields.
 */
export class EntryArchive {
  private batches: Batch[] = [];
  /** The first index held: entries of the first batch below it were compacted away. */
  private start = 1;

  /**
   * @param maxBatchChars the most data characters one batch's string holds: a string has a length
   * limit (about 2^29 in V8), and a restart applies a thousand entries at a time, of any size.
   */
  constructor(private readonly maxBatchChars = 16 * 1024 * 1024) {}

  /** Adds `entries`, which follow the last index held (or start the archive when it is empty). */
  add(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    if (this.batches.length === 0) this.start = entries[0]!.index;
    let from = 0;
    let chars = 0;
    for (let i = 0; i < entries.length; i++) {
      const length = entries[i]!.data.length;
      if (i > from && chars + length > this.maxBatchChars) {
        this.addBatch(entries, from, i);
        from = i;
        chars = 0;
      }
      chars += length;
    }
    this.addBatch(entries, from, entries.length);
  }

  /** The term of the entry at `index`, or undefined when not held. */
  term(index: number): number | undefined {
    const batch = this.batchOf(index);
    return batch === undefined ? undefined : batch.numbers[(index - batch.first) * FIELDS];
  }

  /** The entries from `lo` to `hi` inclusive, which must all be held. */
  slice(lo: number, hi: number): Entry[] {
    const out: Entry[] = [];
    for (let index = lo; index <= hi; index++) out.push(this.entry(index));
    return out;
  }

  /** Forgets everything up to `index`. */
  dropThrough(index: number): void {
    if (index < this.start) return;
    let drop = 0;
    while (drop < this.batches.length && this.batches[drop]!.first + this.batches[drop]!.count - 1 <= index) drop++;
    this.batches = this.batches.slice(drop);
    this.start = index + 1;
  }

  clear(): void {
    this.batches = [];
    this.start = 1;
  }

  private addBatch(entries: readonly Entry[], from: number, to: number): void {
    const count = to - from;
    const numbers = new Float64Array(count * FIELDS);
    const data = new Array<string>(count);
    let end = 0;
    for (let i = 0; i < count; i++) {
      const entry = entries[from + i]!;
      const at = i * FIELDS;
      numbers[at] = entry.term;
      numbers[at + 1] = KIND_CODES[entry.kind];
      const stamp = entry.stamp;
      numbers[at + 2] = stamp === undefined ? -1 : stamp.session;
      numbers[at + 3] = stamp === undefined ? 0 : stamp.seq;
      numbers[at + 4] = stamp === undefined ? 0 : stamp.lowestOutstanding;
      end += entry.data.length;
      numbers[at + 5] = end;
      data[i] = entry.data;
    }
    this.batches.push({ first: entries[from]!.index, count, numbers, text: data.join('') });
  }

  private entry(index: number): Entry {
    const batch = this.batchOf(index);
    if (batch === undefined) throw new Error(`log invariant broken: entry ${index} is not in the archive`);
    const i = index - batch.first;
    const at = i * FIELDS;
    const n = batch.numbers;
    const data = batch.text.slice(i === 0 ? 0 : n[at - 1], n[at + 5]);
    const kind = KINDS[n[at + 1]!]!;
    const term = n[at]!;
    if (n[at + 2]! < 0) return { index, term, kind, data };
    const stamp: SessionStamp = { session: n[at + 2]!, seq: n[at + 3]!, lowestOutstanding: n[at + 4]! };
    return { index, term, kind, data, stamp };
  }

  /** The batch holding `index`: a binary search, as batches are in index order. */
  private batchOf(index: number): Batch | undefined {
    if (index < this.start) return undefined;
    let lo = 0;
    let hi = this.batches.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const batch = this.batches[mid]!;
      if (index < batch.first) hi = mid - 1;
      else if (index >= batch.first + batch.count) lo = mid + 1;
      else return batch;
    }
    return undefined;
  }
}
