import { EMPTY_HARD_STATE, type Entry, type HardState } from '../core/types.ts';
import type { PersistedState, Storage } from './storage.ts';

/**
 * Storage that lives in process memory: for tests, and for users who accept that a restarted
 * process forgets everything. Kept across `close()`, so one instance models a disk that survives
 * a node's restart inside one process.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private entries: Entry[] = [];

  async load(): Promise<PersistedState> {
    return { hardState: this.hardState, entries: [...this.entries] };
  }

  async append(entries: readonly Entry[]): Promise<void> {
    const first = entries[0];
    if (first === undefined) return;
    const lastStored = this.entries.length;
    if (first.index > lastStored + 1) {
      throw new Error(`append at index ${first.index} leaves a gap after the last stored index ${lastStored}`);
    }
    this.entries.length = first.index - 1;
    this.entries.push(...entries);
  }

  async saveHardState(hardState: HardState): Promise<void> {
    this.hardState = hardState;
  }

  async close(): Promise<void> {}
}
