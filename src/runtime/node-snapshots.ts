import type { SnapshotPolicy } from '../config.ts';
import type { InstallSnapshot, Message } from '../core/messages.ts';
import type { RaftCore } from '../core/raft.ts';
import type { Configuration } from '../core/membership.ts';
import type { Entry, NodeId, SnapshotMeta } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RuntimeObserver } from '../metrics/hooks.ts';
import type { StoredSnapshot } from '../storage/snapshot-store.ts';
import type { Storage } from '../storage/storage.ts';
import type { PeerMessage, SnapshotChunk, SnapshotChunkAck } from '../transport/peer-messages.ts';
import type { Clock } from './clock.ts';
import { SnapshotReceiver } from './snapshot-receiver.ts';
import { SnapshotSender } from './snapshot-sender.ts';
import { Snapshotter, type SnapshotStateMachine } from './snapshotter.ts';

/**
 * Entries the log keeps behind a snapshot, at most, so that a follower a little behind catches up
 * from the log rather than by a whole snapshot (etcd and hashicorp/raft keep such a tail too).
 */
const MAX_TAIL_ENTRIES = 1000;

/** Received snapshots kept for the core to install, at most. */
const MAX_RECEIVED = 4;

/** A snapshot transfer that makes no progress for this many election timeouts is dropped (it starts over later). */
const STALL_ELECTION_TIMEOUTS = 20;

/** What a node's snapshots work with. */
export interface NodeSnapshotsParts {
  readonly id: NodeId;
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: SnapshotPolicy;
  readonly stateMachine: SnapshotStateMachine;
  readonly electionTimeoutMs: number;
  /** Sends a runtime-level message to a peer; false when it certainly did not leave. */
  readonly send: (to: NodeId, message: PeerMessage) => boolean;
  /** The core's term and commit index now (0 before it exists). */
  readonly term: () => number;
  readonly committed: () => number;
  readonly configurationAt: (index: number) => Configuration;
  /** Hands the core a message: the InstallSnapshot of a snapshot whose bytes are saved. */
  readonly step: (message: Message) => void;
  /** Asks for a loop turn, in which `compact` runs. */
  readonly schedule: () => void;
  /** Told of snapshots taken and installed, for metrics. */
  readonly observer?: RuntimeObserver;
}

/**
 * Everything about snapshots in one node's runtime (Raft §7): taking them and compacting the log
 * after, restoring one at start, sending one to a follower and receiving one from the leader, and
 * installing what the core accepted.
 */
export class NodeSnapshots {
  private readonly snapshotter: Snapshotter;
  private readonly sender: SnapshotSender;
  private readonly receiver: SnapshotReceiver;
  /** A snapshot made durable: the log before it is compacted at the start of the next loop turn. */
  private saved: { readonly meta: SnapshotMeta; readonly compacted: () => void } | null = null;
  /** Settles when the log segments the last snapshot covers are deleted. */
  private compaction: Promise<void> = Promise.resolve();
  /**
   * Snapshots received from leaders and handed to the core, by index and term, until it installs one:
   * another may arrive (or be refused) before the loop turn that installs the first.
   */
  private readonly received = new Map<string, StoredSnapshot>();
  private stopped = false;

  constructor(private readonly parts: NodeSnapshotsParts) {
    const { storage, clock, logger } = parts;
    const stallMs = STALL_ELECTION_TIMEOUTS * parts.electionTimeoutMs;
    this.snapshotter = new Snapshotter({
      policy: parts.policy,
      stateMachine: parts.stateMachine,
      storage,
      logger,
      clock,
      configurationAt: parts.configurationAt,
      ...(parts.observer === undefined ? {} : { observer: parts.observer }),
      onSaved: (meta) =>
        new Promise<void>((compacted) => {
          if (this.stopped) return compacted();
          this.saved?.compacted();
          this.saved = { meta, compacted };
          parts.schedule();
        }),
    });
    this.sender = new SnapshotSender({ storage, clock, logger, stallMs, send: parts.send });
    this.receiver = new SnapshotReceiver({
      self: parts.id,
      storage,
      clock,
      logger,
      stallMs,
      send: parts.send,
      term: parts.term,
      committed: parts.committed,
      deliver: (message, stored) => {
        if (stored !== null) this.remember(stored);
        parts.step(message);
      },
    });
  }

  /** At start: restores the state machine from the snapshot storage loaded. */
  async restoreAtStart(snapshot: SnapshotMeta): Promise<void> {
    const stored = await this.parts.storage.latestSnapshot();
    if (stored === null || !sameSnapshot(stored.meta, snapshot)) {
      throw new GraftError('STORAGE_CORRUPT', `storage loaded snapshot ${snapshot.index} but offers ${stored?.meta.index ?? 'none'} to read`);
    }
    const ms = await this.restore(stored);
    this.parts.logger.info(
      { index: snapshot.index, term: snapshot.term, ms },
      `state restored from snapshot ${snapshot.index} (term ${snapshot.term}) in ${ms} ms`,
    );
  }

  /**
   * The core took the leader's snapshot (Ready.snapshot): its log restarts after it. The snapshot is
   * durable already (the receiver saved it before the core saw it); the log is emptied, then the
   * state machine restored, before anything else of the batch is persisted or applied.
   */
  async install(meta: SnapshotMeta): Promise<void> {
    const stored = this.received.get(snapshotKey(meta));
    for (const [key, other] of this.received) if (other.meta.index <= meta.index) this.received.delete(key);
    // The core installs only what it was handed with a received snapshot's state, and never over applied entries (§7).
    if (stored === undefined) throw new Error(`the core installs snapshot ${meta.index}, which was not the one received`);
    const applied = this.snapshotter.appliedIndex();
    if (meta.index <= applied) throw new Error(`the core installs snapshot ${meta.index}, at or below the applied index ${applied}`);
    await this.parts.storage.restartLogAfter(meta);
    const ms = await this.restore(stored);
    this.parts.observer?.snapshotInstalled();
    this.parts.logger.info(
      { index: meta.index, term: meta.term, ms },
      `installed the leader's snapshot ${meta.index} (term ${meta.term}); state restored in ${ms} ms`,
    );
  }

  /** Entries were applied: a snapshot is taken when the policy says so. */
  applied(entries: readonly Entry[]): void {
    this.snapshotter.entriesApplied(entries);
  }

  /** After a snapshot is durable, the core and storage forget the log it covers, but for a short tail. Runs in the loop. */
  compact(core: RaftCore): void {
    const saved = this.saved;
    if (saved === null) return;
    this.saved = null;
    const tail = Math.min(MAX_TAIL_ENTRIES, Math.floor(this.parts.policy.entries / 2));
    if (core.compact(saved.meta.index, tail) === null) return saved.compacted();
    const through = core.firstIndex() - 1;
    this.compaction = this.compaction
      .then(() => this.parts.storage.compactPrefix(through))
      .catch((error: unknown) => {
        // Only disk space is at stake: the entries are covered by the snapshot either way.
        this.parts.logger.warn(
          { through, error: (error as Error).message },
          `could not delete log segments up to entry ${through}: ${(error as Error).message}`,
        );
      })
      .finally(saved.compacted);
  }

  /** A snapshot at the applied index now, once it is durable and the log it covers deleted; rejects SNAPSHOT_UNSUPPORTED without hooks. */
  take(): Promise<SnapshotMeta> {
    if (!this.parts.stateMachine.canSnapshot()) {
      return Promise.reject(new GraftError('SNAPSHOT_UNSUPPORTED', 'no snapshot hooks: give GraftOptions.snapshot and .restore to take snapshots'));
    }
    return this.snapshotter.takeNow();
  }

  /** The index the newest snapshot here covers; 0 when there is none. */
  newestIndex(): number {
    return this.snapshotter.newest()?.index ?? 0;
  }

  /** The core wants a follower to have its snapshot: the sender streams it. */
  send(request: InstallSnapshot): void {
    this.sender.send(request);
  }

  chunk(message: SnapshotChunk): void {
    this.receiver.chunk(message);
  }

  acknowledged(message: SnapshotChunkAck): void {
    this.sender.acknowledged(message);
  }

  /** This node no longer leads: its transfers stop. */
  notLeading(): void {
    this.sender.stopAll('this node no longer leads');
  }

  /** Stops transfers and releases whoever waits for a compaction; resolves once one in progress ends. */
  stop(reason: string): Promise<void> {
    this.stopped = true;
    this.sender.stopAll(reason);
    this.receiver.stop();
    this.saved?.compacted();
    return this.compaction;
  }

  /** Keeps a received snapshot for the core to install; only the newest few (one the core refused is never installed later). */
  private remember(stored: StoredSnapshot): void {
    this.received.set(snapshotKey(stored.meta), stored);
    while (this.received.size > MAX_RECEIVED) {
      const oldest = [...this.received].reduce((a, b) => (b[1].meta.index < a[1].meta.index ? b : a));
      this.received.delete(oldest[0]);
    }
  }

  /** Replaces the state machine's state with a stored snapshot's; returns how long it took, in ms. */
  private async restore(stored: StoredSnapshot): Promise<number> {
    const started = this.parts.clock.now();
    // Named newest first: the restore ends by telling the instance's listeners the new applied index
    // ('applied'), and whoever that wakes must find the snapshot in status() already. A restore that
    // fails stops the node, so the name is never seen wrong.
    this.snapshotter.restoring(stored.meta);
    await this.parts.stateMachine.restore(stored.read(), stored.meta.index);
    this.snapshotter.restored(stored.meta);
    return Math.round(this.parts.clock.now() - started);
  }
}

function snapshotKey(meta: SnapshotMeta): string {
  return `${meta.index}/${meta.term}`;
}

function sameSnapshot(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term;
}
