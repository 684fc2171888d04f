import { expect } from 'chai';
import { Membership, type Configuration } from '../../../src/core/membership.ts';
import { jointIndex, jointVote, majorityIndex, majorityVote, type VoteResult } from '../../../src/core/quorum.ts';
import { ReadRounds } from '../../../src/core/read-rounds.ts';

/** '1 2 3' -> ['1', '2', '3']; '' -> []. */
const ids = (list: string): string[] => list.split(' ').filter((id) => id !== '');
/** '1:9 2:7' -> each voter's match index (absent: 0). */
const matches = (list: string) => {
  const table = new Map(ids(list).map((pair) => pair.split(':') as [string, string]));
  return (id: string) => Number(table.get(id) ?? 0);
};
/** '1+ 2- 3+' -> granted (+) or refused (-); absent: not answered yet. */
const votes = (list: string) => new Map(ids(list).map((v) => [v.slice(0, -1), v.endsWith('+')] as const));

describe('core: quorums (§5.2, §5.3; joint majorities, thesis §4.3)', () => {
  describe('the index a majority holds', () => {
    const table: [voters: string, matched: string, committed: number][] = [
      ['1', '1:4', 4],
      ['1 2', '1:9 2:3', 3],
      ['1 2 3', '1:9 2:7 3:5', 7],
      ['1 2 3', '1:9', 0],
      ['1 2 3 4', '1:9 2:7 3:5 4:2', 5],
      ['1 2 3 4 5', '1:9 2:7 3:5 4:2 5:1', 5],
      ['1 2 3 4 5', '4:8 5:8', 0],
      ['1 2 3 4 5', '3:8 4:8 5:8', 8],
    ];
    for (const [voters, matched, committed] of table) {
      it(`voters {${voters}} matching ${matched}: ${committed}`, () => {
        expect(majorityIndex(ids(voters), matches(matched))).to.equal(committed);
      });
    }
    it('an empty set holds every index, so it never holds back the other half of a joint configuration', () => {
      expect(majorityIndex([], matches(''))).to.equal(Number.POSITIVE_INFINITY);
      expect(jointIndex(ids('1 2 3'), [], matches('1:5 2:5 3:1'))).to.equal(5);
    });
  });

  describe('the index a joint configuration commits: a majority of each half', () => {
    const table: [incoming: string, outgoing: string, matched: string, committed: number][] = [
      // The new half alone has a majority at 9; the old half only at 1.
      ['4 5 6', '1 2 3', '1:9 2:1 3:1 4:9 5:9 6:9', 1],
      // The old half alone has a majority at 9 (commit by the old majority alone would be wrong).
      ['4 5 6', '1 2 3', '1:9 2:9 3:9 4:9 5:1 6:1', 1],
      ['4 5 6', '1 2 3', '1:9 2:9 3:1 4:9 5:8 6:1', 8],
      // Overlapping halves: adding 4 to {1 2 3}.
      ['1 2 3 4', '1 2 3', '1:7 2:7 3:1 4:1', 1],
      ['1 2 3 4', '1 2 3', '1:7 2:7 3:1 4:7', 7],
      // Removing 3 from {1 2 3}: the old half still needs two of three.
      ['1 2', '1 2 3', '1:9 2:1 3:9', 1],
      ['1 2', '1 2 3', '1:9 2:6 3:1', 6],
    ];
    for (const [incoming, outgoing, matched, committed] of table) {
      it(`{${incoming}} and {${outgoing}} matching ${matched}: ${committed}`, () => {
        expect(jointIndex(ids(incoming), ids(outgoing), matches(matched))).to.equal(committed);
        const membership = new Membership({ voters: ids(incoming), outgoing: ids(outgoing), learners: [], addresses: {} });
        expect(membership.committedIndex(matches(matched))).to.equal(committed);
      });
    }
  });

  describe('an election, decided as soon as the answers allow and not before', () => {
    const table: [voters: string, answers: string, result: VoteResult][] = [
      ['1', '1+', 'won'],
      ['1 2 3', '1+', 'pending'],
      ['1 2 3', '1+ 2+', 'won'],
      ['1 2 3', '1+ 2-', 'pending'],
      ['1 2 3', '1+ 2- 3-', 'lost'],
      ['1 2 3 4', '1+ 2+', 'pending'],
      ['1 2 3 4', '1+ 2- 3-', 'lost'],
      ['1 2 3 4 5', '1+ 2+ 3+', 'won'],
      // Answers from outside the voter set count for nothing.
      ['1 2 3', '1+ 7+ 8+', 'pending'],
    ];
    for (const [voters, answers, result] of table) {
      it(`voters {${voters}} answering ${answers}: ${result}`, () => {
        expect(majorityVote(ids(voters), votes(answers))).to.equal(result);
      });
    }
  });

  describe('a joint election: won only with both halves, lost as soon as either is', () => {
    const table: [incoming: string, outgoing: string, answers: string, result: VoteResult][] = [
      ['4 5 6', '1 2 3', '1+ 2+ 3+', 'pending'],
      ['4 5 6', '1 2 3', '4+ 5+ 6+', 'pending'],
      ['4 5 6', '1 2 3', '1+ 2+ 4+ 5+', 'won'],
      ['4 5 6', '1 2 3', '1+ 2+ 4- 5-', 'lost'],
      ['4 5 6', '1 2 3', '1- 2- 4+ 5+ 6+', 'lost'],
      ['3 4 5', '1 2 3', '1+ 2+ 3-', 'pending'],
      ['3 4 5', '1 2 3', '3+ 4+ 1+', 'won'],
      ['1 2 3', '', '1+ 2+', 'won'],
    ];
    for (const [incoming, outgoing, answers, result] of table) {
      it(`{${incoming}} and {${outgoing}} answering ${answers}: ${result}`, () => {
        expect(jointVote(ids(incoming), ids(outgoing), votes(answers))).to.equal(result);
        const membership = new Membership({ voters: ids(incoming), outgoing: ids(outgoing), learners: [], addresses: {} });
        expect(membership.voteResult(votes(answers))).to.equal(result);
      });
    }
  });

  describe('a read round, confirmed by a quorum of the configuration in force (thesis §6.4)', () => {
    const config = (incoming: string, outgoing: string, learners = ''): Configuration => ({
      voters: ids(incoming),
      outgoing: ids(outgoing),
      learners: ids(learners),
      addresses: {},
    });
    const table: [config: Configuration, leader: string, acknowledged: string, confirmed: boolean][] = [
      [config('1 2 3', ''), '1', '2', true],
      [config('1 2 3', ''), '1', '', false],
      [config('1 2 3', '', '4 5'), '1', '4 5', false],
      [config('4 5 6', '1 2 3'), '1', '2 3', false],
      [config('4 5 6', '1 2 3'), '1', '2 4 5', true],
      // A leader being removed counts in the outgoing half only: the incoming half needs two of its own.
      [config('2 3 4', '1 2 3'), '1', '2', false],
      [config('2 3 4', '1 2 3'), '1', '2 4', true],
    ];
    for (const [configuration, leader, acknowledged, confirmed] of table) {
      it(`{${configuration.voters.join(' ')}}${configuration.outgoing.length > 0 ? ` and {${configuration.outgoing.join(' ')}}` : ''}${
        configuration.learners.length > 0 ? ` with learners {${configuration.learners.join(' ')}}` : ''
      }, leader ${leader}, acknowledged by {${acknowledged}}: ${confirmed ? 'served' : 'waits'}`, () => {
        const membership = new Membership(configuration);
        const rounds = new ReadRounds(leader, 0, { withoutQuorum: false, leaseNeverExpires: false });
        const answered = rounds.wait(0, 10, [{ from: leader, context: 1 }], membership).length > 0;
        const confirmedAfter = ids(acknowledged).some((peer) => rounds.acknowledge(peer, rounds.current, membership).length > 0);
        expect(answered || confirmedAfter).to.equal(confirmed);
      });
    }
  });

  it('names voters and learners apart', () => {
    const membership = new Membership({ voters: ids('3 4'), outgoing: ids('1 3'), learners: ids('5'), addresses: {} });
    expect(membership.allVoters()).to.deep.equal(['1', '3', '4']);
    expect(membership.allMembers()).to.deep.equal(['1', '3', '4', '5']);
    expect([membership.isVoter('1'), membership.isVoter('5'), membership.isLearner('5'), membership.isMember('9')]).to.deep.equal([true, false, true, false]);
    expect(membership.isJoint).to.equal(true);
  });
});
