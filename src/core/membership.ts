import type { NodeId } from './types.ts';

/** The outcome of an election as far as the votes received so far tell. */
export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * Who votes, and so what a quorum is. During a joint change (§6 of the paper, thesis §4.3) both the
 * incoming and the outgoing voter sets must agree: a decision needs a majority of each.
 */
export class Membership {
  readonly voters: ReadonlySet<NodeId>;
  /** The previous voter set while a joint configuration is in force; null otherwise. */
  readonly outgoing: ReadonlySet<NodeId> | null;

  constructor(voters: Iterable<NodeId>, outgoing: Iterable<NodeId> | null = null) {
    this.voters = new Set(voters);
    this.outgoing = outgoing === null ? null : new Set(outgoing);
    if (this.voters.size === 0) throw new Error('a membership needs at least one voter');
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id) || (this.outgoing?.has(id) ?? false);
  }

  /** Every node that votes in either half, in a stable order. */
  allVoters(): NodeId[] {
    return [...new Set([...this.voters, ...(this.outgoing ?? [])])].sort();
  }

  /** The highest index that a quorum has matched (§5.3, §5.4.2), given each voter's match index. */
  committedIndex(matchOf: (id: NodeId) => number): number {
    const incoming = majorityIndex(this.voters, matchOf);
    return this.outgoing === null ? incoming : Math.min(incoming, majorityIndex(this.outgoing, matchOf));
  }

  /** Whether the votes so far (true = granted) win, lose, or cannot decide the election yet. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const incoming = majorityVote(this.voters, votes);
    if (this.outgoing === null) return incoming;
    const outgoing = majorityVote(this.outgoing, votes);
    if (incoming === 'won' && outgoing === 'won') return 'won';
    if (incoming === 'lost' || outgoing === 'lost') return 'lost';
    return 'pending';
  }
}

/** The index that a majority of `ids` has reached: sort descending, take the middle. */
function majorityIndex(ids: ReadonlySet<NodeId>, matchOf: (id: NodeId) => number): number {
  const matches = [...ids].map(matchOf).sort((a, b) => b - a);
  return matches[Math.floor(matches.length / 2)] ?? 0;
}

function majorityVote(ids: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const quorum = Math.floor(ids.size / 2) + 1;
  let granted = 0;
  let refused = 0;
  for (const id of ids) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) refused++;
  }
  if (granted >= quorum) return 'won';
  if (refused > ids.size - quorum) return 'lost';
  return 'pending';
}
