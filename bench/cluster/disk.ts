import { constants, mkdirSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Histogram, type LatencySummary } from './histogram.ts';

/**
 * What Graft's write-ahead log adds to an operation's bytes in each record: the record header (16),
 * the entry's index, term and kind (13), and its session stamp (18). See src/storage/file/record.ts.
 */
export const WAL_RECORD_OVERHEAD = 47;
/** The WAL's segment size: it moves to a new file, and syncs the directory, once a segment reaches it. */
const SEGMENT_BYTES = 8 * 2 ** 20;

/**
 * How the WAL opens a segment (src/storage/file/wal-files.ts): appending with O_DSYNC, so that each
 * write is durable when it returns. Null where the platform has no O_DSYNC (Windows): there the
 * WAL, and so the bench, follows each write with an fdatasync.
 */
export const DURABLE_APPEND = typeof constants.O_DSYNC === 'number' ? constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC : null;

/**
 * Appends all of `data` to `handle` (opened with DURABLE_APPEND, else 'a') and returns once it is
 * durable. A write that makes no progress throws: on a full disk, Node reports short writes.
 */
export async function appendDurably(handle: FileHandle, data: Buffer): Promise<void> {
  for (let written = 0; written < data.length;) {
    const { bytesWritten } = await handle.write(data, written);
    if (bytesWritten === 0) throw new Error(`a write to the bench's file made no progress after ${written} of ${data.length} bytes (is the disk full?)`);
    written += bytesWritten;
  }
  if (DURABLE_APPEND === null) await handle.datasync();
}

/** The disk's sync rate for one batch size. */
export interface DiskLimit {
  readonly opBytes: number;
  /** Records written per sync. */
  readonly batch: number;
  readonly syncsPerSec: number;
  readonly recordsPerSec: number;
  /** One durable write of the batch. */
  readonly sync: LatencySummary;
}

/**
 * The disk's limit for the WAL's pattern, from this process: one durable write of `batch` records
 * (each an `opBytes` operation as the WAL frames it), back to back for `seconds`, through
 * `fs/promises` and with the flags the WAL uses, appending to segment files of the WAL's size.
 */
export async function measureDisk(dir: string, opBytes: number, batch: number, seconds: number): Promise<DiskLimit> {
  mkdirSync(dir, { recursive: true });
  const data = Buffer.alloc(batch * (opBytes + WAL_RECORD_OVERHEAD), 'x');
  const histogram = new Histogram();
  let segment = 0;
  let file = join(dir, `segment-${segment}`);
  const openSegment = (path: string): Promise<FileHandle> => open(path, DURABLE_APPEND ?? 'a');
  let handle: FileHandle = await openSegment(file);
  let size = 0;
  let syncs = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    if (size >= SEGMENT_BYTES) {
      await handle.close();
      await unlink(file);
      file = join(dir, `segment-${++segment}`);
      handle = await openSegment(file);
      size = 0;
      const directory = await open(dir, 'r');
      await directory.sync();
      await directory.close();
    }
    await appendDurably(handle, data);
    size += data.length;
    syncs++;
    histogram.record(performance.now() - t0);
  }
  const elapsedSec = (performance.now() - started) / 1000;
  await handle.close();
  await unlink(file);
  return { opBytes, batch, syncsPerSec: syncs / elapsedSec, recordsPerSec: (syncs * batch) / elapsedSec, sync: histogram.summary() };
}
