import type { NodeId } from '../core/types.ts';
import type { PeerMessage } from './peer-messages.ts';

/** Called for every message that arrives, already validated. */
export type ReceiveHandler = (message: PeerMessage) => void;

/**
 * How messages reach peers. Delivery is best effort: a message may be lost, and Raft retries.
 * A transport never throws from `send`; a peer that cannot be reached only means lost messages.
 */
export interface Transport {
  /** Begins accepting and delivering messages to `receive`. */
  start(receive: ReceiveHandler): Promise<void>;
  /**
   * Queues `messages` for `to`, in order. Never blocks, never throws. Returns false when there is no
   * connection to hand them to, so they were certainly not delivered; true means only "sent", not "delivered".
   */
  send(to: NodeId, messages: readonly PeerMessage[]): boolean;
  /** Closes every connection and server this transport opened. Idempotent. */
  stop(): Promise<void>;
}
