import type { InstallSnapshot } from '../core/messages.ts';
import type { NodeId } from '../core/types.ts';
import type { Logger } from '../logger.ts';
import type { Storage } from '../storage/storage.ts';
import type { SnapshotChunk, SnapshotChunkAck } from '../transport/peer-messages.ts';
import type { Cancel, Clock } from './clock.ts';

/** Bytes of state per chunk: small beside a heartbeat's interval on any link, large enough to be cheap. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunks sent ahead of the follower's acknowledgements: what each side holds in memory at most. */
const WINDOW_CHUNKS = 4;

/** What a SnapshotSender works with. */
export interface SnapshotSenderParts {
  readonly storage: Storage;
  /** Sends one chunk; false when it certainly did not leave. */
  readonly send: (to: NodeId, chunk: SnapshotChunk) => boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A transfer whose follower acknowledges nothing for this long is given up; the core asks again later. */
  readonly stallMs: number;
  readonly chunkBytes?: number;
}

class Transfer {
  index = 0;
  acked = 0;
  saved = false;
  /** What was acknowledged when the core last asked for this snapshot: no more since means the transfer is stuck. */
  ackedWhenAsked = 0;
  failure: string | null = null;
  private wake: (() => void) | null = null;

  constructor(
    readonly request: InstallSnapshot,
    readonly attempt: number,
  ) {}

  progressed(received: number, saved: boolean): void {
    if (received > this.acked) this.acked = received;
    if (saved) this.saved = true;
    this.notify();
  }

  abort(reason: string): void {
    this.failure ??= reason;
    this.notify();
  }

  /** Resolves at the next acknowledgement or abort, or after `ms`; true when something happened. */
  waitFor(clock: Clock, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let cancel: Cancel = () => {};
      this.wake = () => {
        cancel();
        resolve(true);
      };
      cancel = clock.after(ms, () => {
        this.wake = null;
        resolve(false);
      });
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/**
 * Streams snapshots to followers that need entries this leader compacted (§7), one transfer per
 * follower, in chunks over the ordinary peer connection, never more than a window ahead of what the
 * follower has saved: a large snapshot holds a few chunks in memory on either side, and heartbeats
 * travel between its chunks. A transfer that stalls is dropped; the core asks for a new one later.
 */
export class SnapshotSender {
  private readonly transfers = new Map<NodeId, Transfer>();
  private readonly chunkBytes: number;
  private attempts = 0;

  constructor(private readonly parts: SnapshotSenderParts) {
    this.chunkBytes = parts.chunkBytes ?? CHUNK_BYTES;
  }

  /** The core wants `request.to` to get its snapshot: starts a transfer of the newest, unless one for this term is under way. */
  send(request: InstallSnapshot): void {
    const current = this.transfers.get(request.to);
    if (current !== undefined && current.failure === null && current.request.term === request.term) {
      // The core asks again after an election timeout without an answer: go on if chunks are moving.
      if (current.acked > current.ackedWhenAsked || current.saved) {
        current.ackedWhenAsked = current.acked;
        return;
      }
      current.abort('no progress since the last request; starting over');
    }
    current?.abort('a new transfer replaced it');
    const transfer = new Transfer(request, ++this.attempts);
    this.transfers.set(request.to, transfer);
    this.run(transfer)
      .catch((error: unknown) => transfer.abort((error as Error).message))
      .finally(() => {
        if (transfer.failure !== null) this.parts.logger.warn({ peer: request.to }, `snapshot transfer to ${request.to} stopped: ${transfer.failure}`);
        if (this.transfers.get(request.to) === transfer) this.transfers.delete(request.to);
      });
  }

  /** A follower's answer to a chunk. */
  acknowledged(ack: SnapshotChunkAck): void {
    const transfer = this.transfers.get(ack.from);
    if (transfer === undefined || ack.index !== transfer.index || ack.attempt !== transfer.attempt) return;
    if (ack.refused !== null) transfer.abort(`${ack.from} refused it: ${ack.refused}`);
    else transfer.progressed(ack.received, ack.saved);
  }

  /** Stops every transfer (this node stopped leading, or is stopping). */
  stopAll(reason: string): void {
    for (const transfer of this.transfers.values()) transfer.abort(reason);
    this.transfers.clear();
  }

  private async run(transfer: Transfer): Promise<void> {
    const { request } = transfer;
    const stored = await this.parts.storage.latestSnapshot();
    if (stored === null) throw new Error('there is no snapshot to send');
    transfer.index = stored.meta.index;
    const chunk = (offset: number, data: Uint8Array, done: boolean): SnapshotChunk => ({
      type: 'SnapshotChunk',
      from: request.from,
      to: request.to,
      term: request.term,
      snapshot: stored.meta,
      readRound: request.readRound,
      attempt: transfer.attempt,
      offset,
      data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
      done,
    });
    this.parts.logger.info(
      { peer: request.to, index: stored.meta.index, term: stored.meta.term },
      `sending snapshot ${stored.meta.index} (term ${stored.meta.term}) to ${request.to}`,
    );
    let offset = 0;
    const send = async (piece: Uint8Array): Promise<void> => {
      await this.room(transfer, offset);
      if (!this.parts.send(request.to, chunk(offset, piece, false))) transfer.abort(`no connection to ${request.to}`);
      offset += piece.length;
    };
    // Chunks of chunkBytes however the store hands the state out: small pieces gathered, large ones cut.
    let held: Uint8Array = new Uint8Array(0);
    for await (const block of stored.read()) {
      held = held.length === 0 ? block : Buffer.concat([held, block]);
      let at = 0;
      for (; held.length - at >= this.chunkBytes; at += this.chunkBytes) await send(held.subarray(at, at + this.chunkBytes));
      held = held.subarray(at);
    }
    if (held.length > 0) await send(held);
    await this.room(transfer, offset);
    this.parts.send(request.to, chunk(offset, new Uint8Array(0), true));
    // Kept until the follower saved it all or went quiet, so that the core asking again meanwhile starts nothing new.
    while (transfer.failure === null && !transfer.saved) {
      if (!(await transfer.waitFor(this.parts.clock, this.parts.stallMs))) return;
    }
  }

  /** Waits until the follower's acknowledgements leave room for another chunk at `offset`; throws when the transfer ended. */
  private async room(transfer: Transfer, offset: number): Promise<void> {
    for (;;) {
      if (transfer.failure !== null) throw new Error(transfer.failure);
      if (offset - transfer.acked < WINDOW_CHUNKS * this.chunkBytes) return;
      if (!(await transfer.waitFor(this.parts.clock, this.parts.stallMs))) transfer.abort(`no acknowledgement for ${this.parts.stallMs} ms`);
    }
  }
}
