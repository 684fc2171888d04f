import { constants } from 'node:fs';
import { open, readdir, readFile, truncate, unlink } from 'node:fs/promises';

/** An open file of the write-ahead log: the few operations the log performs on one. */
export interface WalFileHandle {
  /**
   * Writes `length` bytes of `buffer` from `offset` at the file's position (its end, when opened
   * with 'a'). May write fewer than asked without throwing: Node reports a disk that fills part-way
   * through as a short `bytesWritten`, and only the next write throws ENOSPC.
   */
  write(buffer: Buffer, offset: number, length: number): Promise<{ readonly bytesWritten: number }>;
  /**
   * Whether each write returns only once its data is durable (the file is open with O_DSYNC), so that
   * no datasync need follow: the log then waits on the disk once per batch, not twice.
   */
  readonly writesAreDurable?: boolean;
  /** Makes the file's data durable (fdatasync). */
  datasync(): Promise<void>;
  /** Makes the file's data and metadata, its length included, durable (fsync). */
  sync(): Promise<void>;
  /** The file's length in bytes. */
  size(): Promise<number>;
  /** Releases the file descriptor. */
  close(): Promise<void>;
}

/**
 * The file system as the write-ahead log sees it: exactly the operations it needs, so that a
 * simulation can run the log on an in-memory disk that fails, fills up and loses unsynced writes.
 * Paths are absolute file paths; `dir` arguments are the log's directory.
 */
export interface WalFiles {
  /** The names (not paths) of the entries of `dir`. */
  list(dir: string): Promise<string[]>;
  /** The whole content of `file`. */
  read(file: string): Promise<Buffer>;
  /** Cuts `file` to `length` bytes (durable only once the file is synced). */
  truncate(file: string, length: number): Promise<void>;
  /** Removes `file` (durable only once its directory is synced). */
  unlink(file: string): Promise<void>;
  /** Opens `file` to append to it, creating it if missing ('a'), or an existing file to update it ('r+'). */
  open(file: string, flags: 'a' | 'r+'): Promise<WalFileHandle>;
  /** Makes the entries of `dir`, files created and removed, durable (fsync of the directory). */
  syncDirectory(dir: string): Promise<void>;
}

/** Where the platform has no O_DSYNC (Windows), a segment is opened with 'a' and synced after each write. */
const APPEND_DURABLY = typeof constants.O_DSYNC === 'number' ? constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC : null;

/** The real file system, over `node:fs/promises`. */
export const nodeWalFiles: WalFiles = {
  list: (dir) => readdir(dir),
  read: (file) => readFile(file),
  truncate: (file, length) => truncate(file, length),
  unlink: (file) => unlink(file),
  open: async (file, flags) => {
    // A segment is appended to with O_DSYNC: each write is durable when it returns, as write and
    // fdatasync would make it, in one trip to libuv's thread pool instead of two.
    const durable = flags === 'a' && APPEND_DURABLY !== null;
    const fh = await open(file, durable ? APPEND_DURABLY! : flags);
    return {
      writesAreDurable: durable,
      write: (buffer, offset, length) => fh.write(buffer, offset, length),
      datasync: () => fh.datasync(),
      sync: () => fh.sync(),
      size: async () => (await fh.stat()).size,
      close: () => fh.close(),
    };
  },
  syncDirectory: async (dir) => {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};
