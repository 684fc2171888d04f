import { Membership, type Configuration } from '../../src/core/membership.ts';
import type { Entry, NodeId } from '../../src/core/types.ts';

/** A safety property of Raft (§5.2 Figure 3) failed; the message says which, where and when. */
export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property} violated: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

/**
 * Watches a simulated cluster for the properties of Figure 3 of the paper, checked incrementally as
 * each thing happens: election safety, log matching, leader completeness, state machine safety, and
 * that a node's applied index only moves forward (within one incarnation).
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index, term) -> the entry's data and the term of the entry before it, as first seen anywhere. */
  private readonly entries = new Map<string, { data: string; prevTerm: number }>();
  /** index -> the entry applied there (learned when any node applies it). */
  private readonly committed = new Map<number, Entry>();
  /** index -> the term of the entry a leader committed there, and that leader's term. */
  private readonly commitTerms = new Map<number, { entryTerm: number; commitTerm: number }>();

  /** The configuration under which the highest index so far was committed, and that index. */
  private latestCommit: { index: number; configuration: Configuration } | null = null;

  /**
   * Election safety: at most one leader per term (§5.2). Leader completeness (§5.4), checked as it wins.
   * And quorum overlap (thesis §4.3): the configuration it won under and the one that committed the
   * latest entry have no two disjoint quorums, so some voter of its election holds that entry.
   */
  becameLeader(id: NodeId, term: number, termAt: (index: number) => number | undefined, firstIndex = 1, configuration?: Configuration): void {
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== id) throw new SafetyViolation('election safety', `both ${other} and ${id} led term ${term}`);
    this.leaderOfTerm.set(term, id);
    const latest = this.latestCommit;
    if (configuration !== undefined && latest !== null) {
      const disjoint = disjointQuorums(configuration, latest.configuration);
      if (disjoint !== null) {
        throw new SafetyViolation(
          'quorum overlap',
          `${id} won term ${term} under ${show(configuration)}, index ${latest.index} was committed under ${show(latest.configuration)}: {${disjoint[0].join(' ')}} and {${disjoint[1].join(' ')}} are disjoint majorities`,
        );
      }
    }
    // The paper's guarantee: an entry committed in a term is in the log of every leader of a later term.
    for (const [index, { entryTerm, commitTerm }] of this.commitTerms) {
      // Below the first index the log holds, the snapshot stands for the entries: it holds committed state only.
      if (commitTerm < term && index >= firstIndex && termAt(index) !== entryTerm) {
        throw new SafetyViolation(
          'leader completeness',
          `${id}, leader of term ${term}, has term ${String(termAt(index))} at index ${index}, where the leader of term ${commitTerm} committed an entry of term ${entryTerm}`,
        );
      }
    }
  }

  /**
   * A leader of `term` moved its commit index to `to`: those entries are committed in `term` (the
   * first leader to commit an index decides). With its configuration: a quorum of it holds entry
   * `to` on disk (`holders`, when the disks can be trusted), and it has no quorum disjoint from one of
   * the configuration that made the commit before (thesis §4.3: consecutive configurations overlap).
   */
  leaderCommitted(
    term: number,
    from: number,
    to: number,
    termAt: (index: number) => number | undefined,
    configuration?: Configuration,
    holders?: readonly NodeId[],
  ): void {
    if (configuration !== undefined && holders !== undefined && new Membership(configuration).voteResult(new Map(holders.map((id) => [id, true]))) !== 'won') {
      throw new SafetyViolation(
        'commit quorum',
        `the leader of term ${term} committed index ${to}, which only {${holders.join(' ')}} hold, not a quorum of ${show(configuration)}`,
      );
    }
    const latest = this.latestCommit;
    if (configuration !== undefined && latest !== null && to > latest.index) {
      const disjoint = disjointQuorums(configuration, latest.configuration);
      if (disjoint !== null) {
        throw new SafetyViolation(
          'quorum overlap',
          `index ${to} was committed under ${show(configuration)} right after index ${latest.index} under ${show(latest.configuration)}: {${disjoint[0].join(' ')}} and {${disjoint[1].join(' ')}} are disjoint majorities`,
        );
      }
    }
    if (configuration !== undefined && to > (latest?.index ?? 0)) this.latestCommit = { index: to, configuration };
    for (let i = from + 1; i <= to; i++) {
      if (!this.commitTerms.has(i)) this.commitTerms.set(i, { entryTerm: termAt(i) ?? -1, commitTerm: term });
    }
  }

  /** Log matching (§5.3): entries with the same index and term hold the same data and follow the same entry. */
  wrote(id: NodeId, entries: readonly Entry[], termAt: (index: number) => number | undefined): void {
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const prevTerm = termAt(e.index - 1) ?? -1;
      const known = this.entries.get(key);
      if (known === undefined) {
        this.entries.set(key, { data: e.data, prevTerm });
      } else if (known.data !== e.data || known.prevTerm !== prevTerm) {
        throw new SafetyViolation('log matching', `${id} holds a different entry at index ${e.index} term ${e.term} (or a different one before it)`);
      }
    }
  }

  /** State machine safety (§5.4.3): no two nodes apply different entries at the same index. */
  applied(id: NodeId, entry: Entry, previousApplied: number): void {
    if (entry.index !== previousApplied + 1) {
      throw new SafetyViolation('applied index only moves forward', `${id} applied index ${entry.index} right after ${previousApplied}`);
    }
    const known = this.committed.get(entry.index);
    if (known === undefined) {
      this.committed.set(entry.index, entry);
    } else if (known.term !== entry.term || known.data !== entry.data) {
      throw new SafetyViolation(
        'state machine safety',
        `${id} applied term ${entry.term} at index ${entry.index}, where term ${known.term} was applied before`,
      );
    }
  }
}

/**
 * Two quorums, one of each configuration, with no member in common, or null when none exist. Tries
 * every way to place the members in the first, the second or neither: a handful of machines, so
 * the search is small, and exact.
 */
export function disjointQuorums(a: Configuration, b: Configuration): [NodeId[], NodeId[]] | null {
  // The same voters: any two majorities of one set meet.
  if (a === b || (sameIds(a.voters, b.voters) && sameIds(a.outgoing, b.outgoing))) return null;
  const ids = [...new Set([...a.voters, ...a.outgoing, ...b.voters, ...b.outgoing])].sort();
  const [ma, mb] = [new Membership(a), new Membership(b)];
  const placement = new Array<0 | 1 | 2>(ids.length).fill(0);
  for (let n = 0; n < 3 ** ids.length; n++) {
    let rest = n;
    for (let i = 0; i < ids.length; i++) {
      placement[i] = (rest % 3) as 0 | 1 | 2;
      rest = Math.floor(rest / 3);
    }
    const qa = ids.filter((_, i) => placement[i] === 1);
    const qb = ids.filter((_, i) => placement[i] === 2);
    if (ma.voteResult(new Map(qa.map((id) => [id, true]))) === 'won' && mb.voteResult(new Map(qb.map((id) => [id, true]))) === 'won') return [qa, qb];
  }
  return null;
}

function show(c: Configuration): string {
  return c.outgoing.length > 0 ? `{${c.voters.join(' ')}} joint with {${c.outgoing.join(' ')}}` : `{${c.voters.join(' ')}}`;
}

function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
