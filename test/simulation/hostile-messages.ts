import type { Message } from '../../src/core/messages.ts';
import type { NodeId, Rng } from '../../src/core/types.ts';
import { decodeFrame, encodeFrame, FrameError } from '../../src/transport/codec.ts';

/** What a node under attack looks like to the attacker: its id and its current term. */
export interface Target {
  readonly id: NodeId;
  readonly term: number;
}

/**
 * A message no correct peer sends, from a member `from`: numbers beyond what a node can hold, or
 * claims beyond the receiver's log. Forged leadership (a well-formed append of a later term) is not
 * among them: that needs peer authentication, not validation.
 */
export function hostileMessage(rng: Rng, from: NodeId, target: Target): Message {
  const base = { from, to: target.id };
  switch (rng.nextInt(5)) {
    case 0:
      return { type: 'RequestVote', ...base, term: rng.nextInt(2) === 0 ? 2 ** 48 - 1 : 2 ** 48, lastLogIndex: 0, lastLogTerm: 0, transfer: false };
    case 1:
      return {
        type: 'AppendEntriesResponse',
        ...base,
        term: target.term,
        success: true,
        matchIndex: 10 ** 12,
        rejectedIndex: 0,
        conflictIndex: 0,
        conflictTerm: null,
        readRound: 0,
      };
    case 2:
      return {
        type: 'AppendEntriesResponse',
        ...base,
        term: target.term,
        success: false,
        matchIndex: 0,
        rejectedIndex: 10 ** 12,
        conflictIndex: 1,
        conflictTerm: null,
        readRound: 0,
      };
    case 3:
      return {
        type: 'AppendEntries',
        ...base,
        term: target.term,
        prevLogIndex: 0,
        prevLogTerm: 0,
        leaderCommit: 0,
        readRound: 0,
        entries: [{ index: 1, term: target.term + 1, kind: 'normal', data: '{}' }],
      };
    default:
      return { type: 'ReadIndexResponse', ...base, term: target.term, context: 2 ** 53, index: 2 ** 48 };
  }
}

/**
 * Passes messages through the frame codec, as the WebSocket transport does: what it refuses never
 * reaches the node (the transport closes the connection instead). Returns what gets through.
 */
export function throughCodec(messages: readonly Message[]): Message[] {
  try {
    return decodeFrame(encodeFrame(messages), 16 * 1024 * 1024) as Message[];
  } catch (error) {
    if (error instanceof FrameError) return [];
    throw error;
  }
}
