import type { SnapshotMeta } from '../../src/core/types.ts';
import { MemorySnapshotStore, type SnapshotStore, type StoredSnapshot } from '../../src/storage/snapshot-store.ts';

/** How a SimSnapshots reaches simulated time. */
export interface SimSnapshotsOptions {
  /** Runs `fn` after `ms` of simulated time, in the node's process. */
  readonly after: (ms: number, fn: () => void) => void;
  /** How long a save takes to become durable, in simulated ms. */
  readonly latency: () => number;
}

/**
 * A machine's snapshot store in the runtime simulation: a save becomes durable only after a disk
 * latency, so a crash (or a lost data directory) can strike while a snapshot is being written, taken
 * or received; a save interrupted that way never completes and leaves the previous snapshot in place,
 * as a temporary file that was never renamed would.
 */
export class SimSnapshots implements SnapshotStore {
  private store = new MemorySnapshotStore();
  private epoch = 0;

  constructor(private readonly options: SimSnapshotsOptions) {}

  async save(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<StoredSnapshot> {
    const epoch = this.epoch;
    const chunks: Uint8Array[] = [];
    for await (const chunk of data) chunks.push(Uint8Array.from(chunk));
    await new Promise<void>((resolve) => this.options.after(this.options.latency(), resolve));
    // The process that began this save died meanwhile: its file was never renamed into place.
    if (epoch !== this.epoch) return new Promise<StoredSnapshot>(() => {});
    return this.store.save(
      meta,
      (async function* () {
        yield* chunks;
      })(),
    );
  }

  newest(): Promise<StoredSnapshot | null> {
    return this.store.newest();
  }

  /** The process died: saves in flight never complete. */
  crash(): void {
    this.epoch++;
  }

  /** The data directory is lost: every snapshot goes too. */
  wipe(): void {
    this.epoch++;
    this.store = new MemorySnapshotStore();
  }
}
