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

  /** Election safety: at most one leader per term (§5.2). Leader completeness (§5.4), checked as it wins. */
  becameLeader(id: NodeId, term: number, termAt: (index: number) => number | undefined, firstIndex = 1): void {
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== id) throw new SafetyViolation('election safety', `both ${other} and ${id} led term ${term}`);
    this.leaderOfTerm.set(term, id);
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

  /** A leader of `term` moved its commit index to `to`: those entries are committed in `term` (the first leader to commit an index decides). */
  leaderCommitted(term: number, from: number, to: number, termAt: (index: number) => number | undefined): void {
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
