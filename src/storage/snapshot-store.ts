import type { SnapshotMeta } from '../core/types.ts';

/** A snapshot kept by storage: what it covers, and its state to read. */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  /**
   * Streams the state machine's bytes, as they were saved, in chunks the caller may keep. May be
   * called more than once; each call reads from the start. Throws STORAGE_CORRUPT if the bytes no
   * longer match what was saved.
   */
  read(): AsyncIterable<Uint8Array>;
}

/** Where a storage keeps its snapshots: the newest one is what a restart begins from. */
export interface SnapshotStore {
  /** Saves a snapshot; resolves with it once it is durable. A rejected save leaves nothing that `newest` returns. */
  save(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<StoredSnapshot>;
  /** The whole snapshot with the highest index, or null when there is none. */
  newest(): Promise<StoredSnapshot | null>;
}

/**
 * Snapshots held in process memory: for MemoryStorage, and for simulations that run the file storage
 * on an in-memory disk. A save that has not resolved is not seen, as with a file not yet renamed.
 */
export class MemorySnapshotStore implements SnapshotStore {
  private latest: StoredSnapshot | null = null;

  async save(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<StoredSnapshot> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of data) chunks.push(Uint8Array.from(chunk));
    const saved = stored(meta, chunks);
    if (this.latest === null || meta.index >= this.latest.meta.index) this.latest = saved;
    return saved;
  }

  async newest(): Promise<StoredSnapshot | null> {
    return this.latest;
  }
}

function stored(meta: SnapshotMeta, chunks: readonly Uint8Array[]): StoredSnapshot {
  return {
    meta,
    read: async function* () {
      yield* chunks;
    },
  };
}
