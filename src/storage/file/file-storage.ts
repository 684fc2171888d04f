import { silentLogger, type Logger } from '../../logger.ts';
import type { Entry, HardState, SnapshotMeta } from '../../core/types.ts';
import { GraftError } from '../../errors.ts';
import { logAfterSnapshot } from '../log-after-snapshot.ts';
import type { DurationObserver } from '../../metrics/hooks.ts';
import type { SnapshotStore, StoredSnapshot } from '../snapshot-store.ts';
import type { PersistedState, Storage } from '../storage.ts';
import { claimDataDir, type DataDirIdentity } from './data-dir.ts';
import type { WrittenRecord } from './record.ts';
import { SnapshotFiles } from './snapshot-files.ts';
import { Wal, type WalSabotage } from './wal.ts';
import { nodeWalFiles, type WalFiles } from './wal-files.ts';

/** How a FileStorage is set up. */
export interface FileStorageOptions {
  /** This node's own directory (dataDir/<id>). */
  readonly dir: string;
  /** Whose directory it is: checked at every start, so one machine never runs on another's files. */
  readonly identity: DataDirIdentity;
  /**
   * Segment size at which a new segment begins. Default 8 MiB. Compaction deletes whole segments, so
   * the log on disk runs up to one segment beyond what the newest snapshot leaves.
   */
  readonly segmentBytes?: number;
  /** How many snapshot files to keep (the newest, and older ones to fall back on). Default 2. */
  readonly keepSnapshots?: number;
  /** Where snapshots go. Default: files in `dir` beside the log (SnapshotFiles). */
  readonly snapshots?: SnapshotStore;
  /** Where warnings go (a torn record cut off at start). Default: silent. */
  readonly logger?: Logger;
  /** The file system the log is written to. Default: the real one (nodeWalFiles). */
  readonly files?: WalFiles;
  /**
   * Claims `dir` for this node (checks whose it is, takes its lock) and returns the release function.
   * Default claimDataDir, which uses the real disk: a simulation running FileStorage on an in-memory
   * file system (`files`) passes one that touches no disk.
   */
  readonly claimDir?: (dir: string, identity: DataDirIdentity) => Promise<() => Promise<void>>;
  /**
   * Told how long each fsync of the log took (GraftInstance's `graft_wal_fsync_duration_seconds`).
   * @internal
   */
  readonly syncDurations?: DurationObserver;
}

/** For Graft's own tests only: a deliberate bug in the log, to show a check catches it (see WalSabotage). */
export interface FileStorageTestKnobs {
  readonly sabotage?: WalSabotage;
}

/**
 * Durable storage in files: the log and the hard state share one write-ahead log, so a vote and the
 * entries of the same batch cost one fsync, and every write is checksummed (see record.ts).
 */
export class FileStorage implements Storage {
  private wal: Wal | null = null;
  private release: (() => Promise<void>) | null = null;
  private lastIndex = 0;
  private snapshots: SnapshotStore | null = null;
  /** The snapshot loaded, or saved last. */
  private newest: StoredSnapshot | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly options: FileStorageOptions,
    private readonly knobs: FileStorageTestKnobs = {},
  ) {}

  async load(): Promise<PersistedState> {
    if (this.wal !== null) throw new Error('FileStorage.load() called twice');
    this.release = await (this.options.claimDir ?? claimDataDir)(this.options.dir, this.options.identity);
    try {
      const logger = this.options.logger ?? silentLogger;
      const snapshots =
        this.options.snapshots ??
        new SnapshotFiles({ dir: this.options.dir, logger, ...(this.options.keepSnapshots === undefined ? {} : { keep: this.options.keepSnapshots }) });
      this.newest = await snapshots.newest();
      const { wal, recovered } = await Wal.open({
        dir: this.options.dir,
        segmentBytes: this.options.segmentBytes ?? 8 * 1024 * 1024,
        logger,
        files: this.options.files ?? nodeWalFiles,
        ...(this.knobs.sabotage !== undefined && { sabotage: this.knobs.sabotage }),
        ...(this.options.syncDurations !== undefined && { syncDurations: this.options.syncDurations }),
      });
      this.wal = wal;
      this.snapshots = snapshots;
      const snapshot = this.newest?.meta ?? null;
      const { entries, replaced } = logAfterSnapshot(recovered.entries, snapshot, this.options.dir);
      if (replaced) {
        logger.warn(
          { index: snapshot!.index, term: snapshot!.term },
          `the log disagrees with snapshot ${snapshot!.index} (term ${snapshot!.term}), which the leader sent: the log after it is emptied`,
        );
        await this.restartLogAfter(snapshot!);
      }
      this.lastIndex = entries[entries.length - 1]?.index ?? snapshot?.index ?? 0;
      return { hardState: recovered.hardState, snapshot, entries };
    } catch (error) {
      await this.wal?.close().catch(() => {});
      this.wal = null;
      await this.release();
      throw error;
    }
  }

  async append(entries: readonly Entry[]): Promise<void> {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index > this.lastIndex + 1) {
      throw new Error(`append at index ${first.index} leaves a gap after the last stored index ${this.lastIndex}`);
    }
    const records: WrittenRecord[] = [];
    if (first.index <= this.lastIndex) records.push({ type: 'truncate', fromIndex: first.index });
    records.push({ type: 'entries', entries });
    this.lastIndex = entries[entries.length - 1]!.index;
    return this.requireWal().append(records);
  }

  async saveHardState(hardState: HardState, options: { readonly durable?: boolean } = {}): Promise<void> {
    return this.requireWal().append([{ type: 'hardState', hardState }], options.durable ?? true);
  }

  async compactPrefix(throughIndex: number): Promise<void> {
    await this.requireWal().compactThrough(throughIndex);
  }

  async saveSnapshot(meta: SnapshotMeta, data: AsyncIterable<Uint8Array>): Promise<StoredSnapshot> {
    this.newest = await this.requireSnapshots().save(meta, data);
    return this.newest;
  }

  async latestSnapshot(): Promise<StoredSnapshot | null> {
    this.requireSnapshots();
    return this.newest;
  }

  async restartLogAfter(snapshot: SnapshotMeta): Promise<void> {
    // Truncating from index 1 voids every entry written before, however far back the segments go.
    await this.requireWal().append([{ type: 'truncate', fromIndex: 1 }]);
    this.lastIndex = snapshot.index;
  }

  /** How many fsyncs the log has made, and how many records they covered (group commit shows as records > syncs). */
  stats(): {
    /** fsyncs made. */
    readonly syncs: number;
    /** Records they made durable. */
    readonly records: number;
  } {
    return { ...this.requireWal().stats };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.wal?.close();
      await this.release?.();
    })();
    return this.closing;
  }

  private requireSnapshots(): SnapshotStore {
    if (this.snapshots === null) throw new GraftError('NOT_STARTED', 'FileStorage used before load()');
    return this.snapshots;
  }

  private requireWal(): Wal {
    if (this.wal === null) throw new GraftError('NOT_STARTED', 'FileStorage used before load()');
    return this.wal;
  }
}
