import { expect } from 'chai';
import { Membership } from '../../../src/core/membership.ts';

describe('core: quorums (§5.3; joint majorities, thesis §4.3)', () => {
  const match = (m: Record<string, number>) => (id: string) => m[id] ?? 0;

  it('commits the index that a majority has reached', () => {
    const m = new Membership(['1', '2', '3', '4', '5']);
    expect(m.committedIndex(match({ 1: 9, 2: 7, 3: 5, 4: 2, 5: 1 }))).to.equal(5);
    expect(new Membership(['1', '2', '3', '4']).committedIndex(match({ 1: 9, 2: 7, 3: 5, 4: 2 }))).to.equal(5);
    expect(new Membership(['1']).committedIndex(match({ 1: 4 }))).to.equal(4);
  });

  it('in a joint configuration needs a majority of both halves', () => {
    const m = new Membership(['4', '5', '6'], ['1', '2', '3']);
    expect(m.committedIndex(match({ 1: 9, 2: 9, 3: 9, 4: 9, 5: 1, 6: 1 }))).to.equal(1);
    expect(m.committedIndex(match({ 1: 9, 2: 9, 3: 1, 4: 9, 5: 8, 6: 1 }))).to.equal(8);
    expect(m.allVoters()).to.deep.equal(['1', '2', '3', '4', '5', '6']);
  });

  it('decides an election as soon as the votes so far allow, and not before', () => {
    const m = new Membership(['1', '2', '3']);
    const votes = (v: Record<string, boolean>) => new Map(Object.entries(v));
    expect(m.voteResult(votes({ 1: true }))).to.equal('pending');
    expect(m.voteResult(votes({ 1: true, 2: true }))).to.equal('won');
    expect(m.voteResult(votes({ 1: true, 2: false }))).to.equal('pending');
    expect(m.voteResult(votes({ 1: true, 2: false, 3: false }))).to.equal('lost');
    const joint = new Membership(['3', '4', '5'], ['1', '2', '3']);
    expect(joint.voteResult(votes({ 1: true, 2: true, 3: false }))).to.equal('pending');
    expect(joint.voteResult(votes({ 1: true, 2: true, 4: true, 5: true }))).to.equal('won');
    expect(joint.voteResult(votes({ 4: false, 5: false }))).to.equal('lost');
  });
});
