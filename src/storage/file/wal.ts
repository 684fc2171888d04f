import { join } from 'node:path';
import { EMPTY_HARD_STATE, type Entry, type HardState } from '../../core/types.ts';
import { GraftError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { DurationObserver } from '../../metrics/hooks.ts';
import { encodeRecord, encodeRecords, readRecord, type WrittenRecord } from './record.ts';
import { nodeWalFiles, type WalFileHandle, type WalFiles } from './wal-files.ts';

const SEGMENT_PATTERN = /^wal-(\d{10})\.log$/;
const segmentName = (seq: number): string => `wal-${String(seq).padStart(10, '0')}.log`;

/** What the log held when it was opened. */
export interface RecoveredLog {
  readonly hardState: HardState;
  readonly entries: readonly Entry[];
}

/**
 * A deliberate bug, for tests only, so that a test or simulation can show its checks catch it.
 * 'ignore-short-write': each write is issued once and its `bytesWritten` ignored, so a write cut
 * short by a full disk is taken as whole and acknowledged (the behaviour before writes were checked).
 */
export type WalSabotage = 'ignore-short-write';

/** How a Wal is set up. */
export interface WalOptions {
  readonly dir: string;
  /** A segment that has reached this size is closed and a new one begun. */
  readonly segmentBytes: number;
  readonly logger: Logger;
  /** The file system to write to. Default: the real one (nodeWalFiles). */
  readonly files?: WalFiles;
  /** Test only: never set it in production (see WalSabotage). */
  readonly sabotage?: WalSabotage;
  /** Told how long each fsync took, for metrics. */
  readonly syncDurations?: DurationObserver;
}

interface Pending {
  readonly records: readonly WrittenRecord[];
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * An append-only, segmented write-ahead log of checksummed records. Appends that arrive while a
 * write and its fsync are in flight are written and synced together by the next (group commit);
 * each append's promise resolves only once its records are durable.
 */
export class Wal {
  private readonly files: WalFiles;
  private handle: WalFileHandle;
  private seq: number;
  private size: number;
  private segments: number[];
  private readonly index: SegmentIndex;
  /** The latest hard state written, which every new segment begins with. */
  private hardState: HardState;
  private queue: Pending[] = [];
  /** Records written with the next durable batch; nobody waits for them. */
  private deferred: WrittenRecord[] = [];
  private flushing = false;
  /** Settles when the current flush ends. */
  private flushed: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;
  /** Counters for benchmarks and tests: how many fsyncs covered how many records. */
  readonly stats = { syncs: 0, records: 0 };

  private constructor(
    private readonly options: WalOptions,
    state: { handle: WalFileHandle; seq: number; size: number; segments: number[]; index: SegmentIndex; hardState: HardState },
  ) {
    this.files = options.files ?? nodeWalFiles;
    this.handle = state.handle;
    this.seq = state.seq;
    this.size = state.size;
    this.segments = state.segments;
    this.index = state.index;
    this.hardState = state.hardState;
  }

  /**
   * Reads every segment and rebuilds the log. A torn last record is cut off with a warning; any
   * other damage stops the open with STORAGE_CORRUPT naming the file and offset, and changes nothing.
   */
  static async open(options: WalOptions): Promise<{ wal: Wal; recovered: RecoveredLog }> {
    const files = options.files ?? nodeWalFiles;
    const segments = (await files.list(options.dir))
      .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    let hardState = EMPTY_HARD_STATE;
    const entries: Entry[] = [];
    const index = new SegmentIndex();
    let tornAt: { seq: number; offset: number } | null = null;

    for (const [i, seq] of segments.entries()) {
      const file = join(options.dir, segmentName(seq));
      const buf = await files.read(file);
      let offset = 0;
      for (;;) {
        const result = readRecord(buf, offset);
        if (result.status === 'end') break;
        if (result.status === 'torn' && i === segments.length - 1) {
          // All that is known is that a write did not finish, not whether anyone was told it had.
          options.logger.warn(
            { file, offset, bytes: buf.length - offset, reason: result.reason },
            `cutting a torn record off the end of the log: ${buf.length - offset} bytes at offset ${offset} of ${file}, the last segment, are an incomplete record (${result.reason}), left by an interrupted or failed write`,
          );
          tornAt = { seq, offset };
          break;
        }
        if (result.status !== 'ok') {
          throw new GraftError(
            'STORAGE_CORRUPT',
            `${file}: offset ${offset}: ${result.reason}; refusing to start (nothing was changed). Restore this node's data directory from a backup, or remove it to rejoin empty.`,
          );
        }
        const record = result.record;
        let problem: string | null = null;
        if (record.type === 'hardState') hardState = record.hardState;
        else if (record.type === 'truncate') entries.length = index.truncate(record.fromIndex);
        else {
          for (const entry of record.type === 'entry' ? [record.entry] : record.entries) {
            if ((problem = index.append(entry.index, seq)) !== null) break;
            entries.push(entry);
          }
        }
        if (problem !== null) throw new GraftError('STORAGE_CORRUPT', `${file}: offset ${offset}: ${problem}; refusing to start (nothing was changed)`);
        offset = result.next;
      }
    }
    if (tornAt !== null) {
      const file = join(options.dir, segmentName(tornAt.seq));
      await files.truncate(file, tornAt.offset);
      const fh = await files.open(file, 'r+');
      await fh.sync();
      await fh.close();
    }
    const seq = segments[segments.length - 1] ?? 1;
    if (segments.length === 0) segments.push(seq);
    const handle = await files.open(join(options.dir, segmentName(seq)), 'a');
    const size = await handle.size();
    if (size === 0) await files.syncDirectory(options.dir);
    const wal = new Wal(options, { handle, seq, size, segments, index, hardState });
    return { wal, recovered: { hardState, entries } };
  }

  /**
   * Writes `records`; resolves once they are synced to disk. Records that need not be durable
   * (`durable` false) resolve at once and are written with the next durable batch, or at close.
   * When a write or sync fails, the batch rejects with STORAGE_FAILED, and so does every later append.
   */
  append(records: readonly WrittenRecord[], durable = true): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new GraftError('SHUTDOWN', 'the log is closed'));
    if (!durable) {
      for (const record of records) this.deferred.push(record);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Start on the next microtask, so that everything appended in this turn shares one fsync.
        this.flushed = Promise.resolve().then(() => this.flush());
      }
    });
  }

  /**
   * Deletes whole segments that hold only entries at or below `throughIndex` (used once a snapshot
   * covers them). The active segment is never deleted. Returns how many segments went.
   */
  async compactThrough(throughIndex: number): Promise<number> {
    const oldestNeeded = this.index.segmentAbove(throughIndex) ?? this.seq;
    const doomed = this.segments.filter((s) => s < oldestNeeded && s !== this.seq);
    if (doomed.length === 0) return 0;
    // Oldest first, each deletion made durable before the next: a crash leaves a suffix of the log,
    // never an older segment without the newer ones that follow it (which could leave a gap).
    for (const s of doomed) {
      await this.files.unlink(join(this.options.dir, segmentName(s)));
      await this.files.syncDirectory(this.options.dir);
    }
    this.segments = this.segments.filter((s) => !doomed.includes(s));
    this.index.dropSegmentsBelow(oldestNeeded);
    return doomed.length;
  }

  /** Waits for writes in flight and writes what was deferred, then closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.deferred.length > 0 && this.failure === null) await this.append([]).catch(() => {});
    this.closed = true;
    await this.flushed;
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        if (this.size >= this.options.segmentBytes) await this.rollover();
        const records = [...this.deferred, ...batch.flatMap((p) => p.records)];
        this.deferred = [];
        const data = encodeRecords(records);
        await this.writeSynced(this.handle, join(this.options.dir, segmentName(this.seq)), data);
        this.size += data.length;
        this.stats.syncs++;
        this.stats.records += records.length;
        for (const r of records) this.track(r);
        for (const p of batch) p.resolve();
      } catch (error) {
        // A log that failed a write cannot say what is on disk: every later write fails too.
        this.failure =
          error instanceof GraftError
            ? error
            : new GraftError('STORAGE_FAILED', `write to the log in ${this.options.dir} failed: ${errnoText(error)}${NO_MORE_WRITES}`, { cause: error });
        for (const p of [...batch, ...this.queue]) p.reject(this.failure);
        this.queue = [];
      }
    }
    this.flushing = false;
  }

  /** Begins a new segment, opening it with the current hard state so deleting older ones never loses it. */
  private async rollover(): Promise<void> {
    const next = this.seq + 1;
    const file = join(this.options.dir, segmentName(next));
    const handle = await this.files.open(file, 'a');
    const first = encodeRecord({ type: 'hardState', hardState: this.hardState });
    try {
      await this.writeSynced(handle, file, first);
      await this.files.syncDirectory(this.options.dir);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
    await this.handle.close();
    this.handle = handle;
    this.seq = next;
    this.segments.push(next);
    this.size = first.length;
  }

  /** Writes all of `data` to `file` and waits until it is on disk; a failure names the file and how far it got. */
  private async writeSynced(handle: WalFileHandle, file: string, data: Buffer): Promise<void> {
    if (handle.writesAreDurable === true) {
      const started = performance.now();
      await writeAll(handle, file, data, this.options.sabotage);
      this.options.syncDurations?.observe((performance.now() - started) / 1000);
      return;
    }
    await writeAll(handle, file, data, this.options.sabotage);
    const started = performance.now();
    try {
      await handle.datasync();
    } catch (error) {
      throw writeFailed(file, `${data.length} of ${data.length} bytes written but not synced`, errnoText(error), error);
    }
    this.options.syncDurations?.observe((performance.now() - started) / 1000);
  }

  private track(record: WrittenRecord): void {
    if (record.type === 'hardState') this.hardState = record.hardState;
    else if (record.type === 'truncate') this.index.truncate(record.fromIndex);
    else for (const entry of record.entries) this.index.append(entry.index, this.seq);
  }
}

/**
 * Which segment holds each live entry, so that compaction knows which files it may delete.
 * Entries are contiguous from `first`; segments never decrease along them (appends go to the newest).
 */
class SegmentIndex {
  first = 0;
  readonly segs: number[] = [];

  get length(): number {
    return this.segs.length;
  }

  /** Records entry `index` in segment `seq`; returns a problem when it does not follow the last one. */
  append(index: number, seq: number): string | null {
    if (this.segs.length === 0) this.first = index;
    else if (index !== this.first + this.segs.length) return `entry ${index} where entry ${this.first + this.segs.length} was expected`;
    this.segs.push(seq);
    return null;
  }

  /** Forgets entries from `fromIndex` on; returns how many remain. */
  truncate(fromIndex: number): number {
    this.segs.length = Math.min(this.segs.length, Math.max(0, fromIndex - this.first));
    return this.segs.length;
  }

  /** The oldest segment holding an entry above `index`, or undefined when none does. */
  segmentAbove(index: number): number | undefined {
    return this.segs[Math.max(0, index + 1 - this.first)];
  }

  /** Forgets entries held in segments older than `seq`. */
  dropSegmentsBelow(seq: number): void {
    let dropped = 0;
    while (dropped < this.segs.length && this.segs[dropped]! < seq) dropped++;
    this.segs.splice(0, dropped);
    this.first += dropped;
  }
}

const NO_MORE_WRITES = '; nothing from this batch is acknowledged, and the log takes no more writes';

/**
 * Writes every byte of `data` to `handle`, continuing after a short write: Node reports a disk that
 * fills part-way through as a short count, not an error. Throws STORAGE_FAILED naming `file` and how
 * many bytes were written when a write throws or makes no progress.
 */
async function writeAll(handle: WalFileHandle, file: string, data: Buffer, sabotage: WalSabotage | undefined): Promise<void> {
  let written = 0;
  while (written < data.length) {
    let bytesWritten: number;
    try {
      ({ bytesWritten } = await handle.write(data, written, data.length - written));
    } catch (error) {
      throw writeFailed(file, `${written} of ${data.length} bytes written`, errnoText(error), error);
    }
    if (sabotage === 'ignore-short-write') return;
    if (bytesWritten === 0) throw writeFailed(file, `${written} of ${data.length} bytes written`, 'a write made no progress (the disk is probably full)');
    written += bytesWritten;
  }
}

function writeFailed(file: string, done: string, reason: string, cause?: unknown): GraftError {
  return new GraftError('STORAGE_FAILED', `write to the log failed: ${file}: ${done}: ${reason}${NO_MORE_WRITES}`, cause === undefined ? {} : { cause });
}

/** An errno error as `CODE: message` (Node's messages already begin with the code). */
function errnoText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined || error.message.startsWith(code) ? error.message : `${code}: ${error.message}`;
}
