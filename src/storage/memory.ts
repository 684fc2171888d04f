import { EMPTY_HARD_STATE, type Entry, type HardState, type SnapshotMeta } from '../core/types.ts';
import { logAfterSnapshot } from './log-after-snapshot.ts';
import { MemorySnapshotStore, type StoredSnapshot } from './snapshot-store.ts';
import type { PersistedState, Storage } from './storage.ts';

/**
 * Storage that lives in process memory: for tests, and for users who accept that a restarted
 * process forgets everything. Kept across `close()`, so one instance models a disk that survives
 * a node's restart inside one process.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private entries: Entry[] = [];
  /** The index after which `entries` begin. */
  private start = 0;
  private readonly snapshots = new MemorySnapshotStore();
  /** The snapshot saved last. */
  private latest: StoredSnapshot | null = null;

  async load(): Promise<PersistedState> {
    this.latest = await this.snapshots.newest();
    const snapshot = this.latest?.meta ?? null;
    const { entries, replaced } = logAfterSnapshot(this.entries, snapshot, 'memory storage');
    if (replaced) await this.restartLogAfter(snapshot!);
    return { hardState: this.hardState, snapshot, entries: [...entries] };
  }

  async append(entries: readonly Entry[]): Promise<void> {
    const first = entries[0];
    if (first === undefined) return;
    const lastStored = this.start + this.entries.length;
    if (first.index > lastStored + 1) {
      throw new Error(`append at index ${first.index} leaves a gap after the last stored index ${lastStored}`);
    }
    this.entries.length = Math.max(0, first.index - this.start - 1);
    for (const entry of entries) this.entries.push(entry);
  }

  async compactPrefix(throughIndex: number): Promise<void> {
    const drop = Math.min(this.entries.length, throughIndex - this.start);
    if (drop <= 0) return;
    this.entries = this.entries.slice(drop);
    this.start += drop;
  }

  async saveHardState(hardState: HardState): Promise<void> {
    this.hardState = hardState;
  }

  async saveSnapshot(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<StoredSnapshot> {
    this.latest = await this.snapshots.save(meta, data);
    return this.latest;
  }

  async latestSnapshot(): Promise<StoredSnapshot | null> {
    return this.latest;
  }

  async restartLogAfter(snapshot: SnapshotMeta): Promise<void> {
    this.entries = [];
    this.start = snapshot.index;
  }

  async close(): Promise<void> {}
}
