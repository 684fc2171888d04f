// What the storage, the transport and the runtime report for metrics. Each hook is called on a hot
// path, so each is a plain method call or a field to add to: no allocation, no label lookup.
import type { NodeId } from '../core/types.ts';

/** Records durations, in seconds (the write-ahead log reports each fsync through one). */
export interface DurationObserver {
  observe(seconds: number): void;
}

/** The bytes of peer-protocol frames to and from one peer: the transport adds to the fields. */
export interface PeerByteCounter {
  sent: number;
  received: number;
}

/** Gives the transport the byte counter of a peer: the same object every time for the same peer. */
export type PeerByteCounters = (peer: NodeId) => PeerByteCounter;

/** What the runtime reports as it works: once per batch, not per entry. */
export interface RuntimeObserver {
  /** This node, leading, appended `count` proposed operations to its log. */
  proposed(count: number): void;
  /** `count` entries were committed and handed to the state machine. */
  committed(count: number): void;
  /** A snapshot of `bytes` was taken and made durable in `seconds`. */
  snapshotTaken(bytes: number, seconds: number): void;
  /** A snapshot sent by the leader was installed. */
  snapshotInstalled(): void;
}
