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
    const lastStored = this.entries[this.entries.length - 1]?.index ?? 0;
    if (first.index > lastStored + 1) {
      throw new Error(`append at index ${first.index} leaves a gap after the last stored index ${lastStored}`);
    }
    const held = this.entries[0]?.index ?? first.index;
    this.entries.length = Math.max(0, first.index - held);
    this.entries.push(...entries);
  }

  async compactPrefix(throughIndex: number): Promise<void> {
    this.entries = this.entries.filter((e) => e.index > throughIndex);
  }

  async saveHardState(hardState: HardState): Promise<void> {
    this.hardState = hardState;
  }

  async close(): Promise<void> {}
}
