import { votersOnly } from '../../../src/core/membership.ts';
import { expect } from 'chai';
import { RaftCore } from '../../../src/core/raft.ts';
import { seededRng } from '../../../src/core/rng.ts';
import type { Entry, HardState } from '../../../src/core/types.ts';
import { CoreCluster, loneCore, normal, ofType } from '../../helpers/core-cluster.ts';

/** A node of a 3-node cluster whose peers are played by the test; the paper's rules, no extensions. */
function lone(hardState: HardState, entries: Entry[] = []): RaftCore {
  return loneCore({ rng: seededRng(7), hardState, entries });
}

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: `e${index}` });

describe('core: leader election (§5.2)', () => {
  it('a single-node cluster elects itself once its election timeout passes', () => {
    const c = new CoreCluster(['1']);
    c.elect('1');
    expect(c.node('1').softState()).to.deep.equal({ role: 'Leader', term: 1, leader: '1' });
  });

  it('a follower waits at least electionTicks and less than twice that before campaigning', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const core = new RaftCore({
        id: '1',
        configuration: votersOnly(['1', '2', '3']),
        electionTicks: 10,
        heartbeatTicks: 2,
        rng: seededRng(seed),
        hardState: { term: 0, vote: null, commit: 0 },
        entries: [],
        preVote: false,
      });
      let ticks = 0;
      while (core.softState().role === 'Follower') {
        core.tick();
        ticks++;
      }
      expect(ticks).to.be.within(10, 19);
    }
  });

  it('three nodes elect exactly one leader, which the others follow', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('2');
    expect(c.leaders()).to.deep.equal(['2']);
    for (const id of ['1', '3']) expect(c.node(id).softState()).to.include({ role: 'Follower', leader: '2', term: 1 });
  });

  it('a candidate persists its own vote before asking for votes', () => {
    const core = lone({ term: 1, vote: null, commit: 0 });
    while (core.softState().role !== 'Candidate') core.tick();
    const rd = core.ready();
    expect(rd.hardState).to.deep.include({ term: 2, vote: '1' });
    expect(ofType(rd.messages, 'RequestVote').map((m) => m.to)).to.deep.equal(['2', '3']);
  });

  it('grants one vote per term, to the first candidate that asks (§5.2)', () => {
    const core = lone({ term: 1, vote: null, commit: 0 });
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    core.step({ type: 'RequestVote', from: '3', to: '1', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const replies = ofType(core.ready().messages, 'RequestVoteResponse');
    expect(replies.map((r) => [r.to, r.granted])).to.deep.equal([
      ['2', true],
      ['3', false],
      ['2', true],
    ]);
    expect(core.hardState().vote).to.equal('2');
  });

  it('refuses a candidate whose log is less up to date (§5.4.1)', () => {
    const held = [entry(1, 1), entry(2, 2)];
    const cases: [number, number, boolean][] = [
      [2, 1, false], // older last term, even if as long
      [5, 1, false], // older last term, longer log
      [1, 2, false], // same last term, shorter
      [2, 2, true], // same last term, as long
      [1, 3, true], // later last term, shorter
    ];
    for (const [lastLogIndex, lastLogTerm, granted] of cases) {
      const core = lone({ term: 2, vote: null, commit: 0 }, held);
      core.step({ type: 'RequestVote', from: '2', to: '1', term: 3, lastLogIndex, lastLogTerm, transfer: false });
      const [reply] = ofType(core.ready().messages, 'RequestVoteResponse');
      expect(reply?.granted, `candidate log (${lastLogIndex}, ${lastLogTerm})`).to.equal(granted);
    }
  });

  it('refuses a vote request from an older term and tells the candidate the newer term', () => {
    const core = lone({ term: 5, vote: null, commit: 0 });
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 4, lastLogIndex: 9, lastLogTerm: 4, transfer: false });
    const [reply] = ofType(core.ready().messages, 'RequestVoteResponse');
    expect(reply).to.include({ granted: false, term: 5 });
  });

  it('a restarted node remembers its vote and does not vote twice in a term', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.node('1').step({ type: 'RequestVote', from: '2', to: '1', term: 1, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    c.flush();
    c.queue = [];
    const restarted = c.start('1', 99);
    restarted.step({ type: 'RequestVote', from: '3', to: '1', term: 1, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const [reply] = ofType(restarted.ready().messages, 'RequestVoteResponse');
    expect(reply?.granted).to.equal(false);
  });

  it('a candidate that loses a majority of votes returns to follower', () => {
    const c = new CoreCluster(['1', '2', '3']);
    const core = c.node('1');
    while (core.softState().role !== 'Candidate') core.tick();
    core.ready();
    core.step({ type: 'RequestVoteResponse', from: '2', to: '1', term: 1, granted: false });
    core.step({ type: 'RequestVoteResponse', from: '3', to: '1', term: 1, granted: false });
    expect(core.softState().role).to.equal('Follower');
  });

  it('a candidate that hears an append of its own term gives way to that leader (§5.2)', () => {
    const c = new CoreCluster(['1', '2', '3']);
    const core = c.node('1');
    while (core.softState().role !== 'Candidate') core.tick();
    core.step({ type: 'AppendEntries', from: '3', to: '1', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, readRound: 0 });
    expect(core.softState()).to.deep.equal({ role: 'Follower', term: 1, leader: '3' });
  });

  it('a stale leader steps down when it sees a higher term (§5.1)', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    c.isolate('1');
    c.elect('2');
    expect(c.node('2').softState()).to.include({ role: 'Leader', term: 2 });
    expect(c.node('1').softState()).to.include({ role: 'Leader', term: 1 });
    c.heal();
    for (let i = 0; i < 2; i++) c.node('2').tick(); // a heartbeat
    c.settle();
    expect(c.node('1').softState()).to.deep.equal({ role: 'Follower', term: 2, leader: '2' });
    expect(c.leaders()).to.deep.equal(['2']);
  });

  it("a stale leader's proposals are not committed, and are replaced by the new leader's log", () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    c.isolate('1');
    expect(c.node('1').propose(normal('lost'))).to.not.equal(null);
    c.settle();
    expect(c.node('1').commitIndex()).to.equal(1); // only the term-1 no-op
    c.elect('2');
    c.node('2').propose(normal('kept'));
    c.settle();
    c.heal();
    for (let i = 0; i < 2; i++) c.node('2').tick();
    c.settle();
    for (const id of c.ids) expect(c.appliedData(id)).to.deep.equal(['kept']);
  });
});
