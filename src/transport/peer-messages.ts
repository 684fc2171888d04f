import type { Message } from '../core/messages.ts';
import type { Command, NodeId, SnapshotMeta } from '../core/types.ts';

/**
 * A follower hands commands it was given to the leader (request forwarding).
 * `commands` are what the leader proposes for its log; `id` pairs the answer with the request.
 */
export interface ForwardRequest {
  readonly type: 'Forward';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  readonly commands: readonly Command[];
}

/** Where the leader placed forwarded commands in its log, or why it could not. */
export interface ForwardResponse {
  readonly type: 'ForwardResponse';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  /** One position per forwarded command, in order, when accepted. */
  readonly positions: readonly { readonly index: number; readonly term: number }[] | null;
  /** Why not, when refused: a GraftErrorCode and the leader this node knows of. */
  readonly error: { readonly code: string; readonly message: string; readonly leader: NodeId | null } | null;
}

/**
 * A piece of a snapshot a leader sends a follower that needs entries it compacted (§7's
 * InstallSnapshot, in chunks). Chunks go in order from offset 0; the last has `done` and no data.
 * `readRound` is the core's InstallSnapshot's, handed on when the whole snapshot is saved.
 */
export interface SnapshotChunk {
  readonly type: 'SnapshotChunk';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly snapshot: SnapshotMeta;
  readonly readRound: number;
  /** Which attempt of the sender's this chunk belongs to: answers to an attempt it gave up on are told apart. */
  readonly attempt: number;
  /** Where `data` begins in the snapshot's bytes. */
  readonly offset: number;
  /** The bytes, base64. */
  readonly data: string;
  readonly done: boolean;
}

/** A follower has saved a snapshot's bytes up to `received`, or refuses the transfer (then the leader stops sending it). */
export interface SnapshotChunkAck {
  readonly type: 'SnapshotChunkAck';
  readonly from: NodeId;
  readonly to: NodeId;
  /** The snapshot's index, and the attempt of the chunk answered. */
  readonly index: number;
  readonly attempt: number;
  readonly received: number;
  /** The whole snapshot is durable here and was handed to Raft. */
  readonly saved: boolean;
  /** Why the follower will take no more of this transfer, or null. */
  readonly refused: string | null;
}

/** Everything that travels between peers: the core's messages and the runtime's own. */
export type PeerMessage = Message | ForwardRequest | ForwardResponse | SnapshotChunk | SnapshotChunkAck;
