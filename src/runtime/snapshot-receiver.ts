import type { InstallSnapshot } from '../core/messages.ts';
import type { NodeId, SnapshotMeta } from '../core/types.ts';
import type { Logger } from '../logger.ts';
import type { StoredSnapshot } from '../storage/snapshot-store.ts';
import type { Storage } from '../storage/storage.ts';
import type { SnapshotChunk, SnapshotChunkAck } from '../transport/peer-messages.ts';
import { ChunkQueue } from './chunk-queue.ts';
import type { Cancel, Clock } from './clock.ts';

/** What a SnapshotReceiver works with. */
export interface SnapshotReceiverParts {
  readonly self: NodeId;
  readonly storage: Storage;
  readonly send: (to: NodeId, ack: SnapshotChunkAck) => boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A transfer with no chunk for this long is dropped, and what it saved so far with it. */
  readonly stallMs: number;
  /** This node's current term and commit index: a stale leader's snapshot, or one already covered, is not saved. */
  readonly term: () => number;
  readonly committed: () => number;
  /**
   * Hands the core the InstallSnapshot the chunks made up, once its state is durable: `stored` is
   * that state, to restore if the core installs it; null when nothing was saved (the snapshot was
   * covered already, and the core only answers).
   */
  readonly deliver: (message: InstallSnapshot, stored: StoredSnapshot | null) => void;
}

interface Incoming {
  readonly from: NodeId;
  readonly term: number;
  readonly attempt: number;
  readonly meta: SnapshotMeta;
  readonly queue: ChunkQueue;
  /** Bytes taken so far; the next chunk must begin here. */
  expected: number;
  /** Chunks that came before the one expected, by offset. */
  readonly early: Map<number, SnapshotChunk>;
  cancelStall: Cancel;
}

/** Chunks held that came ahead of the next expected: twice the sender's window. */
const MAX_EARLY_CHUNKS = 8;

/**
 * Takes a snapshot a leader streams in chunks (see SnapshotSender) and saves it as it arrives, holding
 * no more than the sender's window of chunks. Only once storage holds it whole does the core see the InstallSnapshot, which
 * decides whether it replaces the log (§7); a crash before that leaves the old state and log as they were.
 */
export class SnapshotReceiver {
  private incoming: Incoming | null = null;
  /** The transfer dropped last. */
  private dropped: { readonly from: NodeId; readonly attempt: number } | null = null;

  constructor(private readonly parts: SnapshotReceiverParts) {}

  chunk(c: SnapshotChunk): void {
    const refuse = (reason: string): void => void this.ack(c, 0, false, reason);
    if (c.term < this.parts.term()) return refuse(`its term ${c.term} is behind this node's ${this.parts.term()}`);
    const current = this.incoming;
    if (current !== null && partOf(current, c)) return this.arrived(current, c);
    // A transfer dropped here is not begun again by its late chunks; the leader starts a new attempt.
    if (this.dropped !== null && this.dropped.from === c.from && this.dropped.attempt === c.attempt) {
      return refuse(`chunk at ${c.offset} belongs to a transfer dropped here`);
    }
    // The same leader starting over has dropped its old transfer already: only another leader's is told.
    this.drop(current, 'a new transfer began', current?.from !== c.from);
    if (c.snapshot.index <= this.parts.committed()) {
      // Nothing to save: the core answers with what it has committed, and the leader moves on.
      this.parts.deliver(installSnapshot(c), null);
      this.dropped = { from: c.from, attempt: c.attempt };
      return refuse(`it has committed ${this.parts.committed()} already`);
    }
    this.begin(c);
    this.arrived(this.incoming!, c);
  }

  /** Drops a transfer in progress (this node is stopping). */
  stop(): void {
    this.drop(this.incoming, 'the node is stopping');
  }

  private begin(c: SnapshotChunk): void {
    const queue = new ChunkQueue();
    const incoming: Incoming = {
      from: c.from,
      term: c.term,
      attempt: c.attempt,
      meta: c.snapshot,
      queue,
      expected: 0,
      early: new Map(),
      cancelStall: () => {},
    };
    this.incoming = incoming;
    this.parts.logger.info(
      { peer: c.from, index: c.snapshot.index, term: c.snapshot.term },
      `receiving snapshot ${c.snapshot.index} (term ${c.snapshot.term}) from ${c.from}`,
    );
    this.parts.storage.saveSnapshot(c.snapshot, queue).then(
      (stored) => {
        if (this.incoming !== incoming) return;
        this.incoming = null;
        incoming.cancelStall();
        this.parts.logger.info(
          { peer: c.from, index: c.snapshot.index, bytes: incoming.expected },
          `snapshot ${c.snapshot.index} from ${c.from} saved (${incoming.expected} bytes)`,
        );
        this.parts.deliver(installSnapshot(c), stored);
        this.ack(c, incoming.expected, true, null);
      },
      (error: unknown) => {
        this.drop(incoming, `saving it failed: ${(error as Error).message}`);
      },
    );
  }

  /**
   * A chunk of the transfer in progress: taken when it is the next, held when it came early (a
   * transport may reorder, within the sender's window), ignored when it is a copy of one taken.
   */
  private arrived(incoming: Incoming, c: SnapshotChunk): void {
    if (c.offset < incoming.expected || incoming.early.has(c.offset)) return;
    this.keepAlive(incoming);
    if (c.offset > incoming.expected) {
      if (incoming.early.size >= MAX_EARLY_CHUNKS) return this.drop(incoming, `chunk at ${c.offset} came too far ahead of ${incoming.expected}`);
      incoming.early.set(c.offset, c);
      return;
    }
    for (let next: SnapshotChunk | undefined = c; next !== undefined; next = incoming.early.get(incoming.expected)) {
      incoming.early.delete(next.offset);
      this.take(incoming, next);
      if (next.done) return;
    }
  }

  /** A chunk of it came: the transfer is dropped only after `stallMs` without another. */
  private keepAlive(incoming: Incoming): void {
    incoming.cancelStall();
    incoming.cancelStall = this.parts.clock.after(this.parts.stallMs, () => this.drop(incoming, `no chunk for ${this.parts.stallMs} ms`));
  }

  private take(incoming: Incoming, c: SnapshotChunk): void {
    if (c.done) {
      // Whatever the disk takes to finish the save now, the transfer has not stalled.
      incoming.cancelStall();
      incoming.queue.end();
      return;
    }
    const data = Buffer.from(c.data, 'base64');
    incoming.expected += data.length;
    const received = incoming.expected;
    // Acknowledged once the save has taken it: the leader never runs more than its window ahead of the disk.
    incoming.queue.push(data).then(
      () => this.ack(c, received, false, null),
      () => {},
    );
  }

  private drop(incoming: Incoming | null, reason: string, tellSender = true): void {
    if (incoming === null) return;
    incoming.cancelStall();
    incoming.queue.fail(new Error(`snapshot transfer from ${incoming.from} dropped: ${reason}`));
    if (this.incoming === incoming) {
      this.incoming = null;
      this.dropped = { from: incoming.from, attempt: incoming.attempt };
      this.parts.logger.warn(
        { peer: incoming.from, index: incoming.meta.index, reason },
        `snapshot ${incoming.meta.index} from ${incoming.from} dropped: ${reason}`,
      );
      if (tellSender)
        this.parts.send(incoming.from, {
          type: 'SnapshotChunkAck',
          from: this.parts.self,
          to: incoming.from,
          index: incoming.meta.index,
          attempt: incoming.attempt,
          received: incoming.expected,
          saved: false,
          refused: reason,
        });
    }
  }

  private ack(c: SnapshotChunk, received: number, saved: boolean, refused: string | null): boolean {
    return this.parts.send(c.from, {
      type: 'SnapshotChunkAck',
      from: this.parts.self,
      to: c.from,
      index: c.snapshot.index,
      attempt: c.attempt,
      received,
      saved,
      refused,
    });
  }
}

/** The core's message for a snapshot whose chunks all arrived. */
function installSnapshot(c: SnapshotChunk): InstallSnapshot {
  return { type: 'InstallSnapshot', from: c.from, to: c.to, term: c.term, snapshot: c.snapshot, readRound: c.readRound };
}

function sameMeta(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term;
}

/** Whether `c` belongs to the transfer in progress: the same leader, term, attempt and snapshot. */
function partOf(incoming: Incoming, c: SnapshotChunk): boolean {
  return incoming.from === c.from && incoming.attempt === c.attempt && incoming.term === c.term && sameMeta(incoming.meta, c.snapshot);
}
