/** The applied terms as a snapshot holds them. */
export interface AppliedTermsState {
  readonly applied: number;
  readonly runs: readonly (readonly [number, number])[];
}

/**
 * The term of every applied entry, kept as runs (the first index of each term), so that it stays
 * answerable after the log is compacted: a client session asks it to tell whether the entry applied
 * at an index was its own copy (thesis §6.3). A run is a few numbers per term that had entries; the
 * oldest runs beyond `MAX_RUNS` are forgotten, and indexes in them answer undefined.
 */
export class AppliedTerms {
  /** [first index, term] of each run, in index order. */
  private runs: [number, number][] = [];
  private applied = 0;

  /** Entry `index` of `term` was applied. Indexes come in order. */
  record(index: number, term: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last === undefined || last[1] !== term) {
      this.runs.push([index, term]);
      if (this.runs.length > MAX_RUNS) this.runs.splice(0, this.runs.length - MAX_RUNS);
    }
    this.applied = index;
  }

  /** The last index applied. */
  appliedIndex(): number {
    return this.applied;
  }

  /** The term of the entry applied at `index`; undefined when it is not applied yet, or too old to be known. */
  termAt(index: number): number | undefined {
    if (index > this.applied || index < 1) return undefined;
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const [first, term] = this.runs[i]!;
      if (first <= index) return term;
    }
    return undefined;
  }

  /** The runs, for a snapshot. */
  export(): AppliedTermsState {
    return { applied: this.applied, runs: this.runs.map(([i, t]) => [i, t] as const) };
  }

  /** Replaces everything with what a snapshot holds. */
  import(state: AppliedTermsState): void {
    this.applied = state.applied;
    this.runs = state.runs.map(([i, t]) => [i, t]);
  }
}

const MAX_RUNS = 4096;
