import type { InstallSnapshot } from '../core/messages.ts';
import type { NodeId, SnapshotMeta } from '../core/types.ts';
import type { Logger } from '../logger.ts';
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
  /** Hands the core the InstallSnapshot the chunks made up, once its state is durable. */
  readonly deliver: (message: InstallSnapshot) => void;
}

interface Incoming {
  readonly from: NodeId;
  readonly term: number;
  readonly meta: SnapshotMeta;
  readonly queue: ChunkQueue;
  /** Bytes taken so far; the next chunk must begin here. */
  expected: number;
  cancelStall: Cancel;
}

/**
 * Takes a snapshot a leader streams in chunks (see SnapshotSender) and saves it as it arrives, holding
 * one chunk at a time. Only once storage holds it whole does the core see the InstallSnapshot, which
 * decides whether it replaces the log (§7); a crash before that leaves the old state and log as they were.
 */
export class SnapshotReceiver {
  private incoming: Incoming | null = null;

  constructor(private readonly parts: SnapshotReceiverParts) {}

  chunk(c: SnapshotChunk): void {
    const refuse = (reason: string): void => void this.ack(c, 0, false, reason);
    if (c.term < this.parts.term()) return refuse(`its term ${c.term} is behind this node's ${this.parts.term()}`);
    const current = this.incoming;
    const same =
      current !== null &&
      current.from === c.from &&
      current.term === c.term &&
      current.meta.index === c.snapshot.index &&
      current.meta.term === c.snapshot.term;
    if (c.offset === 0 && !(same && current.expected === 0)) {
      this.drop(current, 'a new transfer began');
      if (c.snapshot.index <= this.parts.committed()) {
        // Nothing to save: the core answers with what it has committed, and the leader moves on.
        this.parts.deliver(installSnapshot(c));
        return refuse(`it has committed ${this.parts.committed()} already`);
      }
      this.begin(c);
    } else if (!same || c.offset !== current.expected) {
      return refuse(`chunk at ${c.offset} does not continue the transfer in progress (${same ? `expected ${current!.expected}` : 'none for that snapshot'})`);
    }
    this.take(this.incoming!, c);
  }

  /** Drops a transfer in progress (this node is stopping). */
  stop(): void {
    this.drop(this.incoming, 'the node is stopping');
  }

  private begin(c: SnapshotChunk): void {
    const queue = new ChunkQueue();
    const incoming: Incoming = { from: c.from, term: c.term, meta: c.snapshot, queue, expected: 0, cancelStall: () => {} };
    this.incoming = incoming;
    this.parts.logger.info(`receiving snapshot ${c.snapshot.index} (term ${c.snapshot.term}) from ${c.from}`, { peer: c.from });
    this.parts.storage.saveSnapshot(c.snapshot, queue).then(
      () => {
        if (this.incoming !== incoming) return;
        this.incoming = null;
        incoming.cancelStall();
        this.parts.logger.info(`snapshot ${c.snapshot.index} from ${c.from} saved (${incoming.expected} bytes)`, { peer: c.from });
        this.parts.deliver(installSnapshot(c));
        this.ack(c, incoming.expected, true, null);
      },
      (error: unknown) => {
        this.drop(incoming, `saving it failed: ${(error as Error).message}`);
      },
    );
  }

  private take(incoming: Incoming, c: SnapshotChunk): void {
    incoming.cancelStall();
    if (c.done) {
      // Whatever the disk takes to finish the save now, the transfer has not stalled.
      incoming.queue.end();
      return;
    }
    incoming.cancelStall = this.parts.clock.after(this.parts.stallMs, () => this.drop(incoming, `no chunk for ${this.parts.stallMs} ms`));
    const data = Buffer.from(c.data, 'base64');
    incoming.expected += data.length;
    const received = incoming.expected;
    // Acknowledged once the save has taken it: the leader never runs more than its window ahead of the disk.
    incoming.queue.push(data).then(
      () => this.ack(c, received, false, null),
      () => {},
    );
  }

  private drop(incoming: Incoming | null, reason: string): void {
    if (incoming === null) return;
    incoming.cancelStall();
    incoming.queue.fail(new Error(`snapshot transfer from ${incoming.from} dropped: ${reason}`));
    if (this.incoming === incoming) {
      this.incoming = null;
      this.parts.logger.warn(`snapshot ${incoming.meta.index} from ${incoming.from} dropped: ${reason}`, { peer: incoming.from });
      this.parts.send(incoming.from, {
        type: 'SnapshotChunkAck',
        from: this.parts.self,
        to: incoming.from,
        index: incoming.meta.index,
        received: incoming.expected,
        saved: false,
        refused: reason,
      });
    }
  }

  private ack(c: SnapshotChunk, received: number, saved: boolean, refused: string | null): boolean {
    return this.parts.send(c.from, { type: 'SnapshotChunkAck', from: this.parts.self, to: c.from, index: c.snapshot.index, received, saved, refused });
  }
}

/** The core's message for a snapshot whose chunks all arrived. */
function installSnapshot(c: SnapshotChunk): InstallSnapshot {
  return { type: 'InstallSnapshot', from: c.from, to: c.to, term: c.term, snapshot: c.snapshot, readRound: c.readRound };
}
