import type { Message } from '../core/messages.ts';
import type { NodeId } from '../core/types.ts';

/**
 * A follower hands operations it was given to the leader (request forwarding).
 * `ops` are serialized operations; `id` pairs the answer with the request.
 */
export interface ForwardRequest {
  readonly type: 'Forward';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  readonly ops: readonly string[];
}

/** Where the leader placed forwarded operations in its log, or why it could not. */
export interface ForwardResponse {
  readonly type: 'ForwardResponse';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly id: number;
  /** One position per forwarded op, in order, when accepted. */
  readonly positions: readonly { readonly index: number; readonly term: number }[] | null;
  /** Why not, when refused: a GraftErrorCode and the leader this node knows of. */
  readonly error: { readonly code: string; readonly message: string; readonly leader: NodeId | null } | null;
}

/** Everything that travels between peers: the core's messages and the runtime's own. */
export type PeerMessage = Message | ForwardRequest | ForwardResponse;
