import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { parseConfiguration } from '../../core/configuration-format.ts';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { MAX_INDEX } from '../../core/limits.ts';
import type { SnapshotMeta } from '../../core/types.ts';
import { GraftError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../logger.ts';
import type { SnapshotStore, StoredSnapshot } from '../snapshot-store.ts';

/*
 * The snapshot file format (Raft §7, thesis §5.1). A file is a header, the state machine's bytes as
 * given, and a trailer; integers are little-endian:
 *
 *   header   0  4 bytes  magic 'GSNP'
 *            4  u8       format version, 1
 *            5  3 bytes  reserved, zero
 *            8  u32      metaLength
 *           12  metaLength bytes of UTF-8 JSON: { "index": n, "term": n, "configuration": { "voters": [...], ... } }
 *               (written before membership changes: "voters": ["id", ...] in place of "configuration")
 *   data     the state, dataLength bytes
 *   trailer  0  u64      dataLength
 *            8  u32      crc32 of every byte before the trailer (header and data)
 *           12  4 bytes  magic 'GEND'
 *
 * The trailer is written last, so a file cut short anywhere lacks it; the checksum and length are
 * computed while the state streams through, so the state is never held in memory whole.
 */
const HEAD_MAGIC = Buffer.from('GSNP', 'latin1');
const TAIL_MAGIC = Buffer.from('GEND', 'latin1');
const VERSION = 1;
const PREFIX_BYTES = 12;
const TRAILER_BYTES = 16;
/** Metadata larger than this is taken for a damaged length rather than trusted. */
const MAX_META_BYTES = 1 << 20;
/** Writes are gathered up to this size; reads are done in chunks of it. */
const IO_BYTES = 1 << 20;

const FINAL_PATTERN = /^snap-(\d{16})-(\d+)\.snap$/;
/** A snapshot being written: `<final name>.<pid>-<n>.tmp`. Never read; removed after the next save. */
const TEMP_PATTERN = /^snap-\d{16}-\d+\.snap\.[\w-]+\.tmp$/;
const finalName = (index: number, term: number): string => `snap-${String(index).padStart(16, '0')}-${term}.snap`;

/** How a SnapshotFiles is set up. */
export interface SnapshotFilesOptions {
  /** The directory holding the snapshot files; it must exist. Other files in it are left alone. */
  readonly dir: string;
  /** How many of the newest snapshots a save leaves; older ones are deleted. At least 1. Default 2. */
  readonly keep?: number;
  /** Receives a warning for every damaged snapshot passed over. Default: silent. */
  readonly logger?: Logger;
}

/** A snapshot on disk that has been read through and verified. */
export interface SnapshotFile extends StoredSnapshot {
  /** The file's path. */
  readonly file: string;
}

/**
 * The durable store of a node's snapshots: one file per snapshot, named by its index and term,
 * written to a temporary file, fsynced and renamed so that a final name only ever holds a whole
 * snapshot. The newest snapshot that verifies is the one a node restarts from; `keep` > 1 leaves an
 * older one to fall back on when the newest is damaged. Saves of one instance run one at a time.
 */
export class SnapshotFiles implements SnapshotStore {
  private readonly dir: string;
  private readonly keep: number;
  private readonly logger: Logger;
  /** Settles when the last save queued ends; saves are serialized so cleanup never meets a save in flight. */
  private saving: Promise<unknown> = Promise.resolve();
  private temps = 0;

  constructor(options: SnapshotFilesOptions) {
    const keep = options.keep ?? 2;
    if (!Number.isInteger(keep) || keep < 1) throw new GraftError('CONFIG_INVALID', `snapshot files: keep must be a whole number of at least 1, got ${keep}`);
    this.dir = options.dir;
    this.keep = keep;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Writes the snapshot `meta` with the state streamed from `data`; resolves once the file and its
   * directory entry are durable. Then deletes the snapshots beyond the `keep` newest and any leftover
   * temporary files. Rejects with STORAGE_FAILED, naming the file and the cause, if any step fails
   * (the iterable throwing included); a rejected save leaves no file under a final name.
   */
  save(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<SnapshotFile> {
    const run = this.saving.then(() => this.write(meta, data));
    this.saving = run.catch(() => {});
    return run;
  }

  /**
   * The newest snapshot that verifies, or null when there is none at all. Each candidate, newest
   * first, is read through once; a damaged or truncated one is passed over with a warning naming the
   * file and the reason. Rejects with STORAGE_CORRUPT when snapshots exist but none verifies.
   * Temporary files left by a crash during a save are ignored.
   */
  async newest(): Promise<SnapshotFile | null> {
    const names = await this.list();
    const problems: string[] = [];
    for (const name of names) {
      const file = join(this.dir, name);
      const result = await verify(file, name);
      if (typeof result !== 'string') return result;
      this.logger.warn({ file, reason: result }, `snapshot ${file} is damaged (${result}); passing over it for an older one`);
      problems.push(`${file}: ${result}`);
    }
    if (problems.length === 0) return null;
    throw new GraftError(
      'STORAGE_CORRUPT',
      `no valid snapshot in ${this.dir}: ${problems.join('; ')}; refusing to start (nothing was changed). Restore this node's data directory from a backup, or remove it to rejoin empty.`,
    );
  }

  /** The final snapshot names in `dir`, newest (highest index, then term) first. */
  private async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      throw new GraftError('STORAGE_FAILED', `cannot list snapshots in ${this.dir}: ${errnoText(error)}`, { cause: error });
    }
    const parsed = names.flatMap((name) => {
      const m = FINAL_PATTERN.exec(name);
      return m === null ? [] : [{ name, index: Number(m[1]), term: Number(m[2]) }];
    });
    return parsed.sort((a, b) => b.index - a.index || b.term - a.term).map((p) => p.name);
  }

  private async write(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<SnapshotFile> {
    const name = finalName(meta.index, meta.term);
    const final = join(this.dir, name);
    const temp = join(this.dir, `${name}.${process.pid}-${++this.temps}.tmp`);
    let step = 'encoding the metadata';
    let fh: FileHandle | null = null;
    let renamed = false;
    let saved: SnapshotFile;
    try {
      const header = encodeHeader(meta);
      step = 'creating the temporary file';
      fh = await open(temp, 'wx');
      const out = new Writer(fh);
      step = 'writing';
      let crc = crc32(header);
      await out.write(header);
      let length = 0;
      for await (const chunk of data) {
        if (!(chunk instanceof Uint8Array)) throw new Error(`the state yielded a ${typeof chunk}, not a Uint8Array`);
        crc = crc32(chunk, crc);
        length += chunk.length;
        await out.write(chunk);
      }
      const trailer = Buffer.alloc(TRAILER_BYTES);
      trailer.writeBigUInt64LE(BigInt(length), 0);
      trailer.writeUInt32LE(crc, 8);
      TAIL_MAGIC.copy(trailer, 12);
      await out.write(trailer);
      await out.flush();
      step = 'syncing the file';
      await fh.sync();
      step = 'closing the file';
      await fh.close();
      fh = null;
      step = 'renaming it into place';
      await rename(temp, final);
      renamed = true;
      step = 'syncing the directory';
      await syncDirectory(this.dir);
      const [start, end, headerCrc, stored] = [header.length, header.length + length, crc32(header), crc];
      saved = { meta, file: final, read: () => readState(final, start, end, headerCrc, stored) };
    } catch (error) {
      await fh?.close().catch(() => {});
      await unlink(temp).catch(() => {});
      // Whole and synced, but not acknowledged: removed, so that a rejected save leaves nothing behind.
      if (renamed) await unlink(final).catch(() => {});
      throw new GraftError('STORAGE_FAILED', `cannot save snapshot ${final}: ${step}: ${errnoText(error)}`, { cause: error });
    }
    await this.prune(name);
    return saved;
  }

  /** Deletes the snapshots beyond the `keep` newest (never `saved`, the one just written) and every temporary file. */
  private async prune(saved: string): Promise<void> {
    try {
      const names = await readdir(this.dir);
      const doomed = [...(await this.list()).slice(this.keep).filter((n) => n !== saved), ...names.filter((n) => TEMP_PATTERN.test(n))];
      for (const name of doomed) await unlink(join(this.dir, name));
      if (doomed.length > 0) await syncDirectory(this.dir);
    } catch (error) {
      // The new snapshot is durable; an old file left behind costs only disk space.
      this.logger.warn(`cannot delete old snapshots in ${this.dir}: ${errnoText(error)}`);
    }
  }
}

function encodeHeader(meta: SnapshotMeta): Buffer {
  for (const [what, value] of [
    ['index', meta.index],
    ['term', meta.term],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_INDEX)
      throw new Error(`snapshot ${what} ${value} is not a whole number from 0 to ${MAX_INDEX}`);
  }
  const json = Buffer.from(
    JSON.stringify({ index: meta.index, term: meta.term, configuration: parseConfiguration(meta.configuration, 'snapshot configuration') }),
    'utf8',
  );
  const header = Buffer.alloc(PREFIX_BYTES + json.length);
  HEAD_MAGIC.copy(header, 0);
  header.writeUInt8(VERSION, 4);
  header.writeUInt32LE(json.length, 8);
  json.copy(header, PREFIX_BYTES);
  return header;
}

/** Gathers small chunks into writes of up to IO_BYTES; a large chunk is written as it is. */
class Writer {
  private readonly buffer = Buffer.allocUnsafe(IO_BYTES);
  private used = 0;

  constructor(private readonly fh: FileHandle) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.used + chunk.length > IO_BYTES) await this.flush();
    if (chunk.length >= IO_BYTES) return this.writeAll(chunk, chunk.length);
    this.buffer.set(chunk, this.used);
    this.used += chunk.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writeAll(this.buffer, this.used);
    this.used = 0;
  }

  private async writeAll(data: Uint8Array, length: number): Promise<void> {
    let written = 0;
    while (written < length) {
      const { bytesWritten } = await this.fh.write(data, written, length - written);
      if (bytesWritten === 0) throw new Error(`a write made no progress after ${written} of ${length} bytes (the disk is probably full)`);
      written += bytesWritten;
    }
  }
}

/** Reads `file` through and checks it; the verified snapshot, or why it is not one. */
async function verify(file: string, name: string): Promise<SnapshotFile | string> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (error) {
    return `cannot open it: ${errnoText(error)}`;
  }
  try {
    const size = (await fh.stat()).size;
    if (size < PREFIX_BYTES + TRAILER_BYTES) return `truncated: ${size} bytes, shorter than an empty snapshot`;
    const prefix = await readAt(fh, 0, PREFIX_BYTES);
    if (!prefix.subarray(0, 4).equals(HEAD_MAGIC)) return 'not a snapshot file (bad magic number)';
    if (prefix.readUInt8(4) !== VERSION) return `format version ${prefix.readUInt8(4)}, this version reads ${VERSION}`;
    const metaLength = prefix.readUInt32LE(8);
    if (metaLength > MAX_META_BYTES) return `damaged header: ${metaLength} bytes of metadata`;
    const dataStart = PREFIX_BYTES + metaLength;
    const dataEnd = size - TRAILER_BYTES;
    if (dataEnd < dataStart) return `truncated: ${size} bytes, the header alone needs ${dataStart + TRAILER_BYTES}`;
    const metaBytes = await readAt(fh, PREFIX_BYTES, metaLength);
    const headerCrc = crc32(metaBytes, crc32(prefix));
    let crc = headerCrc;
    for (let at = dataStart; at < dataEnd;) {
      const chunk = await readAt(fh, at, Math.min(IO_BYTES, dataEnd - at));
      crc = crc32(chunk, crc);
      at += chunk.length;
    }
    const trailer = await readAt(fh, dataEnd, TRAILER_BYTES);
    if (!trailer.subarray(12).equals(TAIL_MAGIC)) return `truncated or damaged at the end: no trailer in the last ${TRAILER_BYTES} of ${size} bytes`;
    const dataLength = Number(trailer.readBigUInt64LE(0));
    if (dataLength !== dataEnd - dataStart) return `length mismatch: the trailer records ${dataLength} bytes of state, the file holds ${dataEnd - dataStart}`;
    const stored = trailer.readUInt32LE(8);
    if (stored !== crc) return `checksum mismatch: stored ${hex(stored)}, computed ${hex(crc)}`;
    const meta = decodeMeta(metaBytes);
    if (typeof meta === 'string') return meta;
    if (name !== finalName(meta.index, meta.term)) return `its metadata (index ${meta.index}, term ${meta.term}) does not match its name`;
    return { meta, file, read: () => readState(file, dataStart, dataEnd, headerCrc, stored) };
  } catch (error) {
    return `cannot read it: ${errnoText(error)}`;
  } finally {
    await fh.close().catch(() => {});
  }
}

function decodeMeta(bytes: Buffer): SnapshotMeta | string {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'metadata is not valid JSON';
  }
  const m = value as { index?: unknown; term?: unknown; voters?: unknown; configuration?: unknown };
  const whole = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= MAX_INDEX;
  if (typeof value !== 'object' || value === null || !whole(m.index) || !whole(m.term)) return 'metadata lacks a valid index or term';
  try {
    // Snapshots written before membership changes named only their voters.
    const configuration = parseConfiguration(m.configuration ?? { voters: m.voters }, 'metadata configuration');
    return { index: m.index, term: m.term, configuration };
  } catch (error) {
    return (error as Error).message;
  }
}

async function* readState(file: string, start: number, end: number, headerCrc: number, stored: number): AsyncGenerator<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    let crc = headerCrc;
    for (let at = start; at < end;) {
      const chunk = await readAt(fh, at, Math.min(IO_BYTES, end - at));
      crc = crc32(chunk, crc);
      at += chunk.length;
      yield chunk;
    }
    if (crc !== stored)
      throw new GraftError('STORAGE_CORRUPT', `snapshot ${file} changed after it was verified: checksum ${hex(crc)}, expected ${hex(stored)}`);
  } finally {
    await fh.close();
  }
}

/** Exactly `length` bytes at `position`, in a fresh buffer; a file that ends first throws. */
async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`the file ended ${length - done} bytes early at offset ${position + done}`);
    done += bytesRead;
  }
  return buffer;
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');

/** An errno error as `CODE: message` (Node's messages already begin with the code). */
function errnoText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined || error.message.startsWith(code) ? error.message : `${code}: ${error.message}`;
}
