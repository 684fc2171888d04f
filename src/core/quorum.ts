import type { NodeId } from './types.ts';

/** The outcome of a decision (an election, a read round) as far as the answers so far tell. */
export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * Majority counting (§5.2, §5.3), for one voter set and for a joint configuration (thesis §4.3),
 * where a decision needs a majority of the incoming set and a majority of the outgoing set
 * separately. Pure functions of their arguments, so they are tested by tables.
 *
 * An empty set agrees with anything (its index is unbounded, its vote won), so that a joint
 * configuration with an empty outgoing half counts exactly as its incoming half alone.
 */

/** The highest index a majority of `voters` has reached, given each one's match index. */
export function majorityIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[Math.floor(matches.length / 2)]!;
}

/** Whether the answers so far (true = yes, absent = not yet) give `voters` a majority for, against, or neither yet. */
export function majorityVote(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  const quorum = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let refused = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) refused++;
  }
  if (granted >= quorum) return 'won';
  if (refused > voters.length - quorum) return 'lost';
  return 'pending';
}

/** The highest index both halves of a joint configuration have each reached by a majority. */
export function jointIndex(incoming: readonly NodeId[], outgoing: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  return Math.min(majorityIndex(incoming, matchOf), majorityIndex(outgoing, matchOf));
}

/** A joint decision: won only when both halves won, lost as soon as either lost. */
export function jointVote(incoming: readonly NodeId[], outgoing: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVote(incoming, votes);
  const b = majorityVote(outgoing, votes);
  if (a === 'won' && b === 'won') return 'won';
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}
