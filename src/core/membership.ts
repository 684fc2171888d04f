import { jointIndex, jointVote, type VoteResult } from './quorum.ts';
import type { NodeId } from './types.ts';

/**
 * Who is in the cluster (thesis chapter 4). Plain data: it travels in configuration entries and is
 * kept in snapshots, so the log, not a file, says who the members are once the cluster runs.
 */
export interface Configuration {
  /** The voters; during a joint configuration, the incoming voters. */
  readonly voters: readonly NodeId[];
  /** During a joint configuration (thesis §4.3), the outgoing voters; empty otherwise. */
  readonly outgoing: readonly NodeId[];
  /** Members that receive the log but neither vote nor campaign (thesis §4.2.1). */
  readonly learners: readonly NodeId[];
  /** Where each member is reached, as the runtime wrote it. Opaque to the core. */
  readonly addresses: Readonly<Record<NodeId, string>>;
  /**
   * The cluster's identity: the first leader writes the one its runtime proposed into the log's
   * first entry, and every later configuration copies it, so all members agree on one. Opaque to
   * the core; absent in clusters bootstrapped before identities existed.
   */
  readonly cluster?: string;
}

/** A configuration of these voters alone, with no addresses: for tests and for the bootstrap of a core. */
export function votersOnly(voters: readonly NodeId[]): Configuration {
  return { voters: [...voters], outgoing: [], learners: [], addresses: {} };
}

/** A configuration read for decisions: who votes, who only listens, and what a quorum is. */
export class Membership {
  private readonly voters: ReadonlySet<NodeId>;
  private readonly outgoing: ReadonlySet<NodeId>;
  private readonly learners: ReadonlySet<NodeId>;

  constructor(readonly configuration: Configuration) {
    this.voters = new Set(configuration.voters);
    this.outgoing = new Set(configuration.outgoing);
    this.learners = new Set(configuration.learners);
  }

  /** Whether a joint configuration is in force: decisions need a majority of both halves. */
  get isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id) || this.outgoing.has(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learners.has(id);
  }

  isMember(id: NodeId): boolean {
    return this.isVoter(id) || this.learners.has(id);
  }

  /** Every node that votes in either half, in a stable order. */
  allVoters(): NodeId[] {
    return [...new Set([...this.voters, ...this.outgoing])].sort();
  }

  /** Every member, voters and learners, in a stable order: whom a leader replicates to. */
  allMembers(): NodeId[] {
    return [...new Set([...this.voters, ...this.outgoing, ...this.learners])].sort();
  }

  /** The highest index that a quorum has matched (§5.3, §5.4.2), given each voter's match index. */
  committedIndex(matchOf: (id: NodeId) => number): number {
    return jointIndex(this.configuration.voters, this.configuration.outgoing, matchOf);
  }

  /** Whether the answers so far (true = granted) win, lose, or cannot decide yet. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    return jointVote(this.configuration.voters, this.configuration.outgoing, votes);
  }
}
