import { EntryArchive } from './entry-archive.ts';
import type { Entry } from './types.ts';

/** The most applied entries moved to the archive in one call (see RaftLog.archiveApplied). */
const ARCHIVE_STEP = 65_536;

/** Where the log starts: the last index and term a snapshot covers (0 and 0 when there is none). */
export interface LogStart {
  readonly index: number;
  readonly term: number;
}

/**
 * The core's in-memory view of the log, with the marks that say how far it is durable, committed
 * and applied. The log starts after `prevIndex`, the last index a snapshot covers (§7), and that
 * start moves forward as snapshots compact it. Entries up to `archived` are applied and kept in an
 * EntryArchive; the rest are objects in `entries`.
 * Invariants: prevIndex <= archived <= applied <= committed <= lastIndex(); prevIndex <= stable <= lastIndex().
 */
export class RaftLog {
  /** The entries after `archived`. */
  private entries: Entry[];
  /** Applied entries from `prevIndex` (exclusive) to `archived`. */
  private readonly archive = new EntryArchive();
  private archived: number;
  /** The index and term just before the first entry held: the snapshot's. */
  private prevIndex: number;
  private prevTerm: number;
  /** Entries up to here are on stable storage. */
  stable: number;
  committed: number;
  applied: number;

  constructor(persisted: readonly Entry[], committed: number, start: LogStart = { index: 0, term: 0 }) {
    this.prevIndex = start.index;
    this.prevTerm = start.term;
    this.archived = start.index;
    this.entries = [...persisted];
    this.stable = this.lastIndex();
    this.committed = Math.max(start.index, Math.min(committed, this.lastIndex()));
    this.applied = start.index;
  }

  /** The last index and term the snapshot covers. */
  start(): LogStart {
    return { index: this.prevIndex, term: this.prevTerm };
  }

  /**
   * Forgets the entries up to `index`, which a snapshot now covers (§7). Only applied entries may go:
   * the snapshot holds the state they produced.
   */
  compactTo(index: number): void {
    if (index <= this.prevIndex) return;
    if (index > this.applied) throw new Error(`log invariant broken: compacting to ${index}, past the applied index ${this.applied}`);
    this.prevTerm = this.term(index)!;
    if (index > this.archived) {
      this.entries = this.entries.slice(index - this.archived);
      this.archived = index;
      this.archive.clear();
    } else this.archive.dropThrough(index);
    this.prevIndex = index;
  }

  /**
   * Replaces the whole log with the start of a snapshot sent by the leader (§7): nothing held here
   * follows it. Committed and durable up to its index; applied once the runtime has installed it.
   */
  restore(start: LogStart): void {
    this.entries = [];
    this.archive.clear();
    this.archived = start.index;
    this.prevIndex = start.index;
    this.prevTerm = start.term;
    this.committed = start.index;
    this.stable = start.index;
  }

  firstIndex(): number {
    return this.prevIndex + 1;
  }

  lastIndex(): number {
    return this.archived + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`, or undefined when the log does not hold it. */
  term(index: number): number | undefined {
    if (index === this.prevIndex) return this.prevTerm;
    if (index > this.archived) return this.entries[index - this.archived - 1]?.term;
    return index > this.prevIndex ? this.archive.term(index) : undefined;
  }

  /** Entries from `lo` to `hi` inclusive (clamped to what is held). */
  slice(lo: number, hi: number): Entry[] {
    const first = Math.max(lo, this.firstIndex());
    const last = Math.min(hi, this.lastIndex());
    if (first > last) return [];
    if (first > this.archived) return this.entries.slice(first - this.archived - 1, last - this.archived);
    const archived = this.archive.slice(first, Math.min(last, this.archived));
    return last > this.archived ? [...archived, ...this.entries.slice(0, last - this.archived)] : archived;
  }

  /** The first index of the term that the entry at `index` has, looking back no further than `floor`. */
  firstIndexOfTermAt(index: number, floor: number): number {
    const term = this.term(index);
    let first = index;
    while (first - 1 >= Math.max(floor, this.firstIndex()) && this.term(first - 1) === term) first--;
    return first;
  }

  /** The last index whose entry has `term`, or 0 when the log holds none. */
  lastIndexOfTerm(term: number): number {
    for (let i = this.lastIndex(); i >= this.firstIndex(); i--) {
      const t = this.term(i) ?? 0;
      if (t === term) return i;
      if (t < term) return 0;
    }
    return 0;
  }

  /** §5.4.1: a log is at least as up to date as ours if its last term is later, or equal with an index as long. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  /** Appends entries that follow the last one (the leader's own proposals). */
  append(entries: readonly Entry[]): void {
    // A loop, not push(...entries): spreading a few hundred thousand arguments overflows the stack.
    for (const entry of entries) this.entries.push(entry);
  }

  /**
   * Merges entries a leader sent after a matching `prevIndex` (§5.3, receiver rules 3 and 4):
   * an entry already held with the same term is kept; at the first conflict, the held suffix is
   * dropped and the rest appended. Returns the index of the last entry sent.
   */
  merge(prevIndex: number, entries: readonly Entry[]): number {
    for (const entry of entries) {
      const held = this.term(entry.index);
      if (held === entry.term) continue;
      if (held !== undefined) this.truncateFrom(entry.index);
      for (let i = entry.index - prevIndex - 1; i < entries.length; i++) this.entries.push(entries[i]!);
      break;
    }
    return prevIndex + entries.length;
  }

  private truncateFrom(index: number): void {
    if (index <= this.committed) {
      throw new Error(`log invariant broken: truncating at ${index}, at or below the commit index ${this.committed}`);
    }
    this.entries.length = index - this.archived - 1;
    this.stable = Math.min(this.stable, index - 1);
  }

  hasUnstable(): boolean {
    return this.stable < this.lastIndex();
  }

  hasNextToApply(): boolean {
    return this.applied < Math.min(this.committed, this.stable);
  }

  /** Entries not yet on stable storage. */
  unstableEntries(): Entry[] {
    return this.slice(this.stable + 1, this.lastIndex());
  }

  /** Marks entries durable up to `index`, unless the log changed under the write (a truncation). */
  stableTo(index: number, term: number): void {
    if (index > this.stable && this.term(index) === term) this.stable = index;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) {
      throw new Error(`log invariant broken: commit ${index} beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
    return true;
  }

  /**
   * Committed entries not yet applied, at most `max`; only durable ones, so a node never applies
   * what it could lose.
   */
  nextToApply(max: number): Entry[] {
    return this.slice(this.applied + 1, Math.min(this.committed, this.stable, this.applied + max));
  }

  /** Entries up to `index` are applied: they move to the archive. */
  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
    this.archiveApplied();
  }

  /** A snapshot's state is in the state machine: everything up to its index is applied. */
  snapshotApplied(index: number): void {
    this.applied = Math.max(this.applied, index);
    this.archiveApplied();
  }

  private archiveApplied(): void {
    const count = Math.min(this.applied, this.lastIndex()) - this.archived;
    // Taking entries off the front of the list costs as much as the list is long: they move once
    // they are a quarter of it, so a long backlog (a restart applying its whole log, a thousand
    // entries at a time) moves in time proportional to its length, not to its square; and at most
    // ARCHIVE_STEP at a time, so that no single call holds the event loop for long.
    if (count <= 0 || count * 4 < this.entries.length) return;
    const moved = Math.min(count, ARCHIVE_STEP);
    this.archive.add(this.entries.splice(0, moved));
    this.archived += moved;
  }
}
