import type { SnapshotPolicy } from '../config.ts';
import type { Configuration } from '../core/membership.ts';
import type { Entry, SnapshotMeta } from '../core/types.ts';
import type { Logger } from '../logger.ts';
import type { RuntimeObserver } from '../metrics/hooks.ts';
import type { Clock } from './clock.ts';
import type { Storage } from '../storage/storage.ts';

/** The state machine as snapshots see it: its state captured as bytes, and replaced by a snapshot's. */
export interface SnapshotStateMachine {
  /** Whether `capture` works (the application gave snapshot hooks); when not, no snapshot is taken. */
  canSnapshot(): boolean;
  /** The state as applied now, as bytes to stream; captured before it returns, so applying may go on. */
  capture(): AsyncIterable<Uint8Array>;
  /** Replaces the state with a snapshot's, which covers everything up to `index`. */
  restore(data: AsyncIterable<Uint8Array>, index: number): Promise<void>;
}

/** What a Snapshotter works with. */
export interface SnapshotterParts {
  readonly policy: SnapshotPolicy;
  readonly stateMachine: SnapshotStateMachine;
  readonly storage: Storage;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The configuration in force at an index, recorded in the metadata of a snapshot up to it. */
  readonly configurationAt: (index: number) => Configuration;
  /** A snapshot is durable: the log before it may be compacted. Resolves once it was. */
  readonly onSaved: (meta: SnapshotMeta) => Promise<void>;
  /** Told of every snapshot taken, for metrics. */
  readonly observer?: Pick<RuntimeObserver, 'snapshotTaken'>;
}

/**
 * Takes snapshots of the state machine (§7): automatically once the entries, or their bytes, applied
 * since the last snapshot pass the policy's thresholds, or on demand. One at a time: the state is
 * captured between two applies and streamed to storage while applying goes on.
 */
export class Snapshotter {
  private entriesSince = 0;
  private bytesSince = 0;
  /** The last entry applied, where a snapshot taken now would end. */
  private applied: { index: number; term: number } = { index: 0, term: 0 };
  private latest: SnapshotMeta | null = null;
  private taking: Promise<SnapshotMeta> | null = null;

  constructor(private readonly parts: SnapshotterParts) {}

  /** A snapshot is being restored: it is the newest from now on (see NodeSnapshots.restore). */
  restoring(meta: SnapshotMeta): void {
    if (this.latest === null || meta.index > this.latest.index) this.latest = meta;
  }

  /** The state machine now holds `meta`'s state (a snapshot restored at start, or installed from the leader). */
  restored(meta: SnapshotMeta): void {
    this.applied = { index: meta.index, term: meta.term };
    if (this.latest === null || meta.index > this.latest.index) this.latest = meta;
    this.entriesSince = 0;
    this.bytesSince = 0;
  }

  /** Entries were applied; takes a snapshot at the last of them when the policy says so. */
  entriesApplied(entries: readonly Entry[]): void {
    const last = entries[entries.length - 1];
    if (last === undefined) return;
    this.applied = { index: last.index, term: last.term };
    this.entriesSince += entries.length;
    for (const e of entries) this.bytesSince += e.data.length;
    const { policy } = this.parts;
    if (this.taking !== null || !this.parts.stateMachine.canSnapshot()) return;
    if (this.entriesSince >= policy.entries || this.bytesSince >= policy.bytes) {
      this.take().catch(() => {}); // logged in take
    }
  }

  /**
   * A snapshot at the applied index now; resolves with its metadata once it is durable. When one is
   * being taken, waits for it and takes another only if entries were applied since it began.
   */
  async takeNow(): Promise<SnapshotMeta> {
    for (;;) {
      if (this.taking !== null) {
        const meta = await this.taking.catch(() => null);
        if (meta !== null && meta.index >= this.applied.index) return meta;
        continue;
      }
      if (this.latest !== null && this.latest.index >= this.applied.index) return this.latest;
      return this.take();
    }
  }

  /** The last index applied to the state machine. */
  appliedIndex(): number {
    return this.applied.index;
  }

  /** The newest snapshot taken or restored here, or null. */
  newest(): SnapshotMeta | null {
    return this.latest;
  }

  private take(): Promise<SnapshotMeta> {
    const meta: SnapshotMeta = { index: this.applied.index, term: this.applied.term, configuration: this.parts.configurationAt(this.applied.index) };
    this.entriesSince = 0;
    this.bytesSince = 0;
    const started = this.parts.clock.now();
    const run = (async () => {
      let bytes = 0;
      const data = counted(this.parts.stateMachine.capture(), (n) => (bytes += n));
      await this.parts.storage.saveSnapshot(meta, data);
      if (this.latest === null || meta.index > this.latest.index) this.latest = meta;
      this.parts.observer?.snapshotTaken(bytes, (this.parts.clock.now() - started) / 1000);
      const ms = Math.round(this.parts.clock.now() - started);
      this.parts.logger.info({ index: meta.index, term: meta.term, bytes, ms }, `snapshot taken at index ${meta.index} (term ${meta.term}) in ${ms} ms`);
      await this.parts.onSaved(meta);
      return meta;
    })();
    this.taking = run;
    run.then(
      () => (this.taking = null),
      (error: unknown) => {
        this.taking = null;
        this.parts.logger.error(
          { index: meta.index, error: (error as Error).message },
          `snapshot at index ${meta.index} failed, the log is kept whole until the next one: ${(error as Error).message}`,
        );
      },
    );
    return run;
  }
}

/** Passes `data` through, telling `add` the size of each chunk. */
async function* counted(data: AsyncIterable<Uint8Array>, add: (bytes: number) => void): AsyncIterable<Uint8Array> {
  for await (const chunk of data) {
    add(chunk.length);
    yield chunk;
  }
}
