import type { PeerAddress } from '../config.ts';
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
  /**
   * The peers changed (a membership change committed or appended): connect to those added, drop those
   * gone. `acceptStrangers`: also accept connections from machine ids not in `peers` (a node outside
   * the configuration, waiting to be added, does not know yet who will call it). `peers` never holds
   * this node. Callable before and after `start`. Optional: a transport that reaches any id needs none.
   */
  setPeers?(peers: ReadonlyMap<NodeId, PeerAddress>, acceptStrangers: boolean): void;
  /**
   * The cluster this node belongs to is now known (its log named it): peers of another cluster are
   * refused from now on. Optional: a transport with no handshake has nothing to check.
   */
  setCluster?(cluster: string): void;
  /**
   * Whether a connection to `peer` is open now. Optional: a transport without connections (or one
   * that cannot tell) leaves it out, and every peer counts as reachable.
   */
  isConnected?(peer: NodeId): boolean;
  /** Closes every connection and server this transport opened. Idempotent. */
  stop(): Promise<void>;
}
