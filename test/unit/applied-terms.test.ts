import { expect } from 'chai';
import { AppliedTerms } from '../../src/runtime/applied-terms.ts';

/** Applies `count` entries of `term` after what `terms` applied. */
function apply(terms: AppliedTerms, term: number, count: number): void {
  const from = terms.appliedIndex() + 1;
  for (let index = from; index < from + count; index++) terms.record(index, term);
}

describe('AppliedTerms', () => {
  it('answers the term of each applied index across runs of terms', () => {
    const terms = new AppliedTerms();
    apply(terms, 1, 3); // 1..3
    apply(terms, 2, 1); // 4
    apply(terms, 5, 4); // 5..8
    apply(terms, 6, 2); // 9..10
    expect(terms.appliedIndex()).to.equal(10);
    const expected = [1, 1, 1, 2, 5, 5, 5, 5, 6, 6];
    for (let index = 1; index <= 10; index++) expect(terms.termAt(index), `index ${index}`).to.equal(expected[index - 1]);
  });

  it('answers undefined past the last applied index, at 0, and before anything is applied', () => {
    const terms = new AppliedTerms();
    expect(terms.appliedIndex()).to.equal(0);
    expect(terms.termAt(0)).to.equal(undefined);
    expect(terms.termAt(1)).to.equal(undefined);
    apply(terms, 3, 5);
    expect(terms.termAt(5)).to.equal(3);
    expect(terms.termAt(6)).to.equal(undefined);
    expect(terms.termAt(1_000)).to.equal(undefined);
    expect(terms.termAt(0)).to.equal(undefined);
    expect(terms.termAt(-1)).to.equal(undefined);
  });

  it('starts after a snapshot: indexes before its first recorded run are unknown', () => {
    const terms = new AppliedTerms();
    terms.import({ applied: 100, runs: [[90, 4]] });
    apply(terms, 4, 2);
    apply(terms, 7, 1);
    expect(terms.termAt(89)).to.equal(undefined);
    expect(terms.termAt(90)).to.equal(4);
    expect(terms.termAt(102)).to.equal(4);
    expect(terms.termAt(103)).to.equal(7);
    expect(terms.termAt(104)).to.equal(undefined);
  });

  it('round-trips through export and import, and the copy is independent', () => {
    const terms = new AppliedTerms();
    apply(terms, 1, 2);
    apply(terms, 3, 3);
    apply(terms, 4, 1);
    const exported = terms.export();
    expect(exported).to.deep.equal({
      applied: 6,
      runs: [
        [1, 1],
        [3, 3],
        [6, 4],
      ],
    });
    // As a snapshot carries it: through JSON text.
    const copy = new AppliedTerms();
    copy.import(JSON.parse(JSON.stringify(exported)) as ReturnType<AppliedTerms['export']>);
    expect(copy.appliedIndex()).to.equal(6);
    for (let index = 0; index <= 7; index++) expect(copy.termAt(index), `index ${index}`).to.equal(terms.termAt(index));
    expect(copy.export()).to.deep.equal(exported);
    // Recording on one changes neither the other nor what was exported before.
    apply(copy, 9, 2);
    expect(copy.termAt(8)).to.equal(9);
    expect(terms.termAt(8)).to.equal(undefined);
    expect(terms.export()).to.deep.equal(exported);
    expect(exported.runs).to.have.length(3);
  });

  it('import replaces everything held before', () => {
    const terms = new AppliedTerms();
    apply(terms, 2, 10);
    terms.import({ applied: 3, runs: [[1, 1]] });
    expect(terms.appliedIndex()).to.equal(3);
    expect(terms.termAt(3)).to.equal(1);
    expect(terms.termAt(4)).to.equal(undefined);
  });

  it('forgets the oldest runs beyond 4096: their indexes answer undefined, the newer ones still answer', () => {
    const terms = new AppliedTerms();
    for (let term = 1; term <= 4100; term++) terms.record(term, term);
    expect(terms.export().runs).to.have.length(4096);
    expect(terms.termAt(1)).to.equal(undefined);
    expect(terms.termAt(4)).to.equal(undefined);
    expect(terms.termAt(5)).to.equal(5);
    expect(terms.termAt(4100)).to.equal(4100);
  });
});
