import { votersOnly } from '../../../src/core/membership.ts';
import { expect } from 'chai';
import { RaftCore } from '../../../src/core/raft.ts';
import { seededRng } from '../../../src/core/rng.ts';
import type { HardState } from '../../../src/core/types.ts';
import { CoreCluster, normal, ofType } from '../../helpers/core-cluster.ts';

const extensions = { preVote: true, checkQuorum: true } as const;

/** Ticks every node once per round and delivers what that causes, `rounds` times. */
function run(c: CoreCluster, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    for (const id of c.ids) c.node(id).tick();
    c.settle();
  }
}

function single(hardState: HardState, options: { preVote: boolean; checkQuorum: boolean }): RaftCore {
  return new RaftCore({
    id: '1',
    configuration: votersOnly(['1', '2', '3']),
    electionTicks: 10,
    heartbeatTicks: 2,
    rng: seededRng(5),
    hardState,
    entries: [],
    ...options,
  });
}

describe('core: pre-vote (thesis §9.6)', () => {
  it('a node whose timeout passes asks for pre-votes for term + 1, changing neither its term nor its vote', () => {
    const core = single({ term: 4, vote: '2', commit: 0 }, extensions);
    while (core.softState().role === 'Follower') core.tick();
    expect(core.softState()).to.deep.include({ role: 'PreCandidate', term: 4 });
    const rd = core.ready();
    expect(rd.hardState).to.equal(null);
    expect(ofType(rd.messages, 'PreVote').map((m) => [m.to, m.term])).to.deep.equal([
      ['2', 5],
      ['3', 5],
    ]);
  });

  it('campaigns for real once a majority would vote, and gives up when a majority would not', () => {
    const won = single({ term: 4, vote: null, commit: 0 }, extensions);
    while (won.softState().role === 'Follower') won.tick();
    won.step({ type: 'PreVoteResponse', from: '2', to: '1', term: 5, granted: true });
    expect(won.softState()).to.deep.include({ role: 'Candidate', term: 5 });
    expect(won.hardState()).to.deep.include({ term: 5, vote: '1' });

    const lost = single({ term: 4, vote: null, commit: 0 }, extensions);
    while (lost.softState().role === 'Follower') lost.tick();
    lost.step({ type: 'PreVoteResponse', from: '2', to: '1', term: 4, granted: false });
    lost.step({ type: 'PreVoteResponse', from: '3', to: '1', term: 4, granted: false });
    expect(lost.softState()).to.deep.include({ role: 'Follower', term: 4 });
  });

  it('a voter grants a pre-vote without changing its term or vote, unless its leader is alive or the log is behind', () => {
    const voter = single({ term: 4, vote: '3', commit: 0 }, extensions);
    voter.step({ type: 'PreVote', from: '2', to: '1', term: 5, lastLogIndex: 0, lastLogTerm: 0 });
    expect(ofType(voter.ready().messages, 'PreVoteResponse')[0]).to.include({ granted: true, term: 5 });
    expect(voter.hardState()).to.deep.include({ term: 4, vote: '3' });

    voter.step({
      type: 'AppendEntries',
      from: '3',
      to: '1',
      term: 4,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ index: 1, term: 4, kind: 'noop', data: '' }],
      leaderCommit: 0,
      readRound: 0,
    });
    voter.ready();
    voter.step({ type: 'PreVote', from: '2', to: '1', term: 5, lastLogIndex: 1, lastLogTerm: 4 });
    expect(ofType(voter.ready().messages, 'PreVoteResponse')[0], 'leader heard from just now').to.include({ granted: false, term: 4 });

    for (let i = 0; i < 10; i++) voter.tick();
    expect(ofType(voter.ready().messages, 'PreVoteResponse'), 'the pre-vote refused for the lease, once the lease ran out').to.deep.equal([
      { type: 'PreVoteResponse', from: '1', to: '2', term: 5, granted: true },
    ]);
    voter.step({ type: 'PreVote', from: '2', to: '1', term: 5, lastLogIndex: 0, lastLogTerm: 0 });
    expect(ofType(voter.ready().messages, 'PreVoteResponse')[0], 'candidate log behind').to.include({ granted: false });
  });

  it('a node cut off for 10 election timeouts rejoins without raising the term or unseating the leader', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    const { term } = c.node('1').softState();
    c.isolate('3');
    run(c, 10 * 10);
    expect(c.node('3').softState().term, "the isolated node's term").to.equal(term);
    c.heal();
    run(c, 30);
    expect(c.leaders()).to.deep.equal(['1']);
    for (const id of c.ids) expect(c.node(id).softState().term).to.equal(term);
  });

  it('without pre-vote the same node comes back with a higher term and unseats the leader (why pre-vote exists)', () => {
    const c = new CoreCluster(['1', '2', '3'], { preVote: false, checkQuorum: false });
    c.elect('1');
    const { term } = c.node('1').softState();
    c.isolate('3');
    run(c, 10 * 10);
    expect(c.node('3').softState().term).to.be.greaterThan(term + 3);
    c.heal();
    run(c, 30);
    expect(c.node('1').softState().term).to.be.greaterThan(term);
  });
});

describe('core: check-quorum (thesis §6.2) and the leader lease (thesis §4.2.3)', () => {
  it('a leader cut off from the majority steps down within about one election timeout', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    c.isolate('1');
    let ticks = 0;
    while (c.node('1').softState().role === 'Leader' && ticks < 100) {
      c.node('1').tick();
      c.settle();
      ticks++;
    }
    expect(c.node('1').softState().role).to.equal('Follower');
    expect(ticks, 'ticks until it stepped down (election timeout: 10)').to.be.at.most(20);
    expect(c.node('1').propose(normal('late write'))).to.equal(null);
  });

  it('a leader that hears from a majority stays leader', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    c.isolate('3');
    run(c, 200);
    expect(c.leaders()).to.deep.equal(['1']);
  });

  it('a follower that heard from its leader within the timeout ignores a vote request for a later term', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    const follower = c.node('2');
    const { term } = follower.softState();
    follower.step({ type: 'RequestVote', from: '3', to: '2', term: term + 5, lastLogIndex: 99, lastLogTerm: 99, transfer: false });
    expect(follower.softState()).to.deep.include({ term, leader: '1' });
    expect(ofType(follower.ready().messages, 'RequestVoteResponse')).to.deep.equal([]);
  });
});
