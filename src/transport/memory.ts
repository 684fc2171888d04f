import type { NodeId } from '../core/types.ts';
import { decodeFrame, encodeBinaryFrame } from './codec.ts';
import type { PeerMessage } from './peer-messages.ts';
import type { ReceiveHandler, Transport } from './transport.ts';

/** Options of a MemoryNetwork. */
export interface MemoryNetworkOptions {
  /** Pass every batch through the wire codec, as a socket would (default true). */
  readonly useCodec?: boolean;
}

/**
 * An in-process network for tests: asynchronous delivery, in order per pair of nodes, with controls
 * to cut links, isolate nodes and lose messages at a given rate.
 */
export class MemoryNetwork {
  private readonly endpoints = new Map<NodeId, ReceiveHandler>();
  private readonly cut = new Set<string>();
  private dropRate = 0;
  private random: () => number = () => 1;
  private readonly useCodec: boolean;

  constructor(options: MemoryNetworkOptions = {}) {
    this.useCodec = options.useCodec ?? true;
  }

  /** The endpoint of node `id`. */
  transport(id: NodeId): Transport {
    return {
      start: async (receive) => {
        this.endpoints.set(id, receive);
      },
      send: (to, messages) => this.deliver(id, to, messages),
      stop: async () => {
        this.endpoints.delete(id);
      },
    };
  }

  /** Drops everything between `a` and `b`, both ways. */
  disconnect(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}|${b}`).add(`${b}|${a}`);
  }

  /** Heals the link between `a` and `b` in both directions. */
  reconnect(a: NodeId, b: NodeId): void {
    this.cut.delete(`${a}|${b}`);
    this.cut.delete(`${b}|${a}`);
  }

  /** Cuts `id` off from every other node (known now or later). */
  isolate(id: NodeId): void {
    this.cut.add(`${id}|*`);
  }

  /** Restores every link and stops losing messages. */
  heal(): void {
    this.cut.clear();
    this.dropRate = 0;
  }

  /** Loses each batch with probability `rate`, drawing from `random` (a value in [0, 1)). */
  setDropRate(rate: number, random: () => number): void {
    this.dropRate = rate;
    this.random = random;
  }

  private isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}|${to}`) || this.cut.has(`${from}|*`) || this.cut.has(`${to}|*`);
  }

  /** False when there is no link: the batch certainly did not leave. Lost batches count as sent. */
  private deliver(from: NodeId, to: NodeId, messages: readonly PeerMessage[]): boolean {
    if (!this.endpoints.has(from) || !this.endpoints.has(to) || this.isCut(from, to)) return false;
    if (this.dropRate > 0 && this.random() < this.dropRate) return true;
    const batch = this.useCodec ? decodeFrame(encodeBinaryFrame(messages), Number.MAX_SAFE_INTEGER) : messages;
    setImmediate(() => {
      // Checked again on arrival: a link cut while the batch was in flight loses it.
      const receive = this.endpoints.get(to);
      if (receive === undefined || this.isCut(from, to)) return;
      for (const m of batch) receive(m);
    });
    return true;
  }
}
