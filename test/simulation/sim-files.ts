import { basename, dirname } from 'node:path';
import type { WalFileHandle, WalFiles } from '../../src/storage/file/wal-files.ts';

/** What a SimFiles runs on: the simulation's scheduler and chance, and whether the node's process is up. */
export interface SimFilesOptions {
  /** Runs `fn` after `ms` of simulated time. */
  readonly after: (ms: number, fn: () => void) => void;
  /** The latency of one operation in ms, drawn afresh for each. */
  readonly latency: () => number;
  /** Whether the node's process runs: an operation that completes while it does not never settles. */
  readonly alive: () => boolean;
  readonly rng: { nextInt(n: number): number };
  /** Bytes the disk holds, all files together; null (the default) for unlimited. */
  readonly capacity?: number | null;
}

/** An operation SimFiles can be told to fail, and how. */
export type SimFault = { readonly op: 'write' | 'datasync'; readonly code: 'EIO' | 'ENOSPC' };

/** One file: what the running process reads, and what is on stable storage. */
class SimFile {
  data: Buffer = Buffer.alloc(0);
  /** What survives a crash (with, perhaps, a torn prefix of the bytes appended after it). */
  durable: Buffer = Buffer.alloc(0);
}

const MESSAGES = { EIO: 'i/o error', ENOSPC: 'no space left on device', ENOENT: 'no such file or directory', EBADF: 'bad file descriptor' } as const;

/** An error shaped like Node's: `code`, `syscall`, and the message `CODE: description, syscall 'path'`. */
function errnoError(code: keyof typeof MESSAGES, syscall: string, path?: string): NodeJS.ErrnoException {
  const where = path === undefined ? '' : ` '${path}'`;
  return Object.assign(new Error(`${code}: ${MESSAGES[code]}, ${syscall}${where}`), { code, syscall, ...(path !== undefined && { path }) });
}

/**
 * An in-memory file system for one node's data directory, for the deterministic simulation: it
 * loses unsynced writes in a crash (keeping a torn prefix), fills up, and fails on cue.
 *
 * Each operation takes effect and settles `latency()` ms after it is issued, through `after`; if
 * the process is dead by then, or has crashed since, it never takes effect and never settles.
 * A file's data becomes durable at datasync/sync. Directory entries (files created or removed)
 * become durable only at syncDirectory of their directory, as on a real disk, so that the log's
 * directory fsyncs are tested too.
 */
export class SimFiles implements WalFiles {
  /** Bytes the disk holds, all files together; null for unlimited. */
  capacity: number | null;
  /** The directory as the running process sees it. */
  private files = new Map<string, SimFile>();
  /** The directory as of its last sync: what a crash leaves. */
  private durableFiles = new Map<string, SimFile>();
  private readonly faults: SimFault[] = [];
  /** Advanced by a crash or wipe, so that operations issued before it never complete. */
  private epoch = 0;

  constructor(private readonly options: SimFilesOptions) {
    this.capacity = options.capacity ?? null;
  }

  list(dir: string): Promise<string[]> {
    return this.op(() => [...this.files.keys()].filter((path) => dirname(path) === dir).map((path) => basename(path)));
  }

  read(file: string): Promise<Buffer> {
    return this.op(() => Buffer.from(this.existing(file, 'open').data));
  }

  truncate(file: string, length: number): Promise<void> {
    return this.op(() => {
      const f = this.existing(file, 'truncate');
      f.data = length <= f.data.length ? f.data.subarray(0, length) : Buffer.concat([f.data, Buffer.alloc(length - f.data.length)]);
    });
  }

  unlink(file: string): Promise<void> {
    return this.op(() => {
      if (!this.files.delete(file)) throw errnoError('ENOENT', 'unlink', file);
    });
  }

  open(file: string, flags: 'a' | 'r+'): Promise<WalFileHandle> {
    return this.op(() => {
      let f = this.files.get(file);
      if (f === undefined) {
        if (flags === 'r+') throw errnoError('ENOENT', 'open', file);
        f = new SimFile();
        this.files.set(file, f);
      }
      return this.handle(f, flags);
    });
  }

  syncDirectory(dir: string): Promise<void> {
    return this.op(() => {
      const inDir = ([path]: [string, SimFile]): boolean => dirname(path) === dir;
      this.durableFiles = new Map([...[...this.durableFiles].filter((e) => !inDir(e)), ...[...this.files].filter(inDir)]);
    });
  }

  /** Makes the next `op` throw an errno error with `code` (queued: several calls fail several operations). */
  failNext(op: SimFault['op'], code: SimFault['code']): void {
    this.faults.push({ op, code });
  }

  /** Frees `bytes` of space (when the capacity is limited), as an operator would before a restart. */
  grow(bytes: number): void {
    if (this.capacity !== null) this.capacity += bytes;
  }

  setCapacity(bytes: number | null): void {
    this.capacity = bytes;
  }

  /** Bytes held by all files together, as the running process sees them. */
  used(): number {
    let used = 0;
    for (const f of this.files.values()) used += f.data.length;
    return used;
  }

  /** Ends every fault: unlimited space, and no failure waiting to happen. */
  heal(): void {
    this.capacity = null;
    this.faults.length = 0;
  }

  /**
   * The process died: operations in flight never complete; files created since the last directory
   * sync vanish and files removed since come back; each file keeps its durable bytes and, of bytes
   * appended after them, a random prefix (a torn write). Unsynced overwrites and truncations are lost.
   */
  crash(): void {
    this.epoch++;
    this.files = new Map(this.durableFiles);
    for (const f of this.files.values()) {
      const { data, durable } = f;
      const appended = data.length > durable.length && data.subarray(0, durable.length).equals(durable);
      f.durable = f.data = appended ? data.subarray(0, durable.length + this.options.rng.nextInt(data.length - durable.length + 1)) : durable;
    }
  }

  /** The data directory is lost: every file is gone. Operations in flight never complete. */
  wipe(): void {
    this.epoch++;
    this.files = new Map();
    this.durableFiles = new Map();
  }

  /** Runs `run` after a latency, settling with its outcome, unless the process has died by then. */
  private op<T>(run: () => T): Promise<T> {
    const epoch = this.epoch;
    return new Promise((resolve, reject) => {
      this.options.after(this.options.latency(), () => {
        if (epoch !== this.epoch || !this.options.alive()) return;
        try {
          resolve(run());
        } catch (error) {
          reject(error as Error);
        }
      });
    });
  }

  private existing(file: string, syscall: string): SimFile {
    const f = this.files.get(file);
    if (f === undefined) throw errnoError('ENOENT', syscall, file);
    return f;
  }

  private injected(op: SimFault['op'], syscall: string): void {
    const i = this.faults.findIndex((f) => f.op === op);
    if (i < 0) return;
    const [fault] = this.faults.splice(i, 1);
    throw errnoError(fault!.code, syscall);
  }

  private free(): number {
    return this.capacity === null ? Infinity : Math.max(0, this.capacity - this.used());
  }

  private handle(f: SimFile, flags: 'a' | 'r+'): WalFileHandle {
    let position = 0;
    let closed = false;
    const usable = (syscall: string): void => {
      if (closed) throw errnoError('EBADF', syscall);
    };
    return {
      write: (buffer, offset, length) =>
        this.op(() => {
          usable('write');
          this.injected('write', 'write');
          const at = flags === 'a' ? f.data.length : position;
          // Like Node on a full disk: write what fits and report the short count; throw only when nothing fits.
          const n = Math.min(length, Math.max(0, f.data.length - at) + this.free());
          if (n === 0 && length > 0) throw errnoError('ENOSPC', 'write');
          const next = Buffer.alloc(Math.max(f.data.length, at + n));
          f.data.copy(next);
          buffer.copy(next, at, offset, offset + n);
          f.data = next;
          position = at + n;
          return { bytesWritten: n };
        }),
      datasync: () =>
        this.op(() => {
          usable('fdatasync');
          this.injected('datasync', 'fdatasync');
          f.durable = f.data;
        }),
      sync: () =>
        this.op(() => {
          usable('fsync');
          f.durable = f.data;
        }),
      size: () =>
        this.op(() => {
          usable('fstat');
          return f.data.length;
        }),
      close: () =>
        this.op(() => {
          usable('close');
          closed = true;
        }),
    };
  }
}
