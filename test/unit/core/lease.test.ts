import { votersOnly } from '../../../src/core/membership.ts';
import { expect } from 'chai';
import { RaftCore } from '../../../src/core/raft.ts';
import { seededRng } from '../../../src/core/rng.ts';
import { EMPTY_HARD_STATE } from '../../../src/core/types.ts';
import { CoreCluster, normal, ofType } from '../../helpers/core-cluster.ts';

const lease = { preVote: true, checkQuorum: true, leaseTicks: 7 } as const;

/** A cluster whose leader, node 1, has just had a heartbeat round acknowledged by everyone. */
function leading(): CoreCluster {
  const c = new CoreCluster(['1', '2', '3'], lease);
  // Past the start-up hold-off (see below), so that votes are given.
  for (let i = 0; i < 10; i++) for (const id of ['2', '3']) c.node(id).tick();
  c.flush();
  c.queue = [];
  c.elect('1');
  c.node('1').propose(normal('x'));
  c.settle();
  for (let i = 0; i < 2; i++) c.node('1').tick(); // heartbeatTicks: 2
  c.settle();
  return c;
}

describe('core: lease reads (thesis §6.4.1)', () => {
  it('a leader inside its lease answers a read at once, without a heartbeat round', () => {
    const c = leading();
    c.node('1').readIndex(5);
    c.flush();
    expect(ofType(c.queue, 'AppendEntries'), 'no round for the read').to.deep.equal([]);
    expect(c.reads.get('1')).to.deep.equal([{ context: 5, index: c.node('1').commitIndex() }]);
  });

  it('once the lease has run out without acknowledgements, a read waits for a quorum round', () => {
    const c = leading();
    c.isolate('1');
    for (let i = 0; i < 7; i++) c.node('1').tick();
    c.settle();
    c.node('1').readIndex(6);
    c.flush();
    expect(c.reads.get('1') ?? [], 'not served from an expired lease').to.deep.equal([]);
  });

  it('after a pause, even one shorter than the lease, reads wait for a round sent after it; its answers renew the lease', () => {
    const c = leading();
    c.node('1').paused(3);
    c.node('1').readIndex(8);
    c.flush();
    expect(c.reads.get('1') ?? [], 'not served from the lease held before the pause').to.deep.equal([]);
    c.settle(); // the round goes out after the pause, and a quorum answers it
    expect(c.reads.get('1')).to.deep.equal([{ context: 8, index: c.node('1').commitIndex() }]);
    c.node('1').readIndex(9);
    c.flush();
    expect(c.reads.get('1')!.at(-1), 'the lease again: served at once').to.deep.equal({ context: 9, index: c.node('1').commitIndex() });
  });

  it('a pause longer than an election timeout is counted: a leader that heard from nobody meanwhile steps down (thesis §6.2)', () => {
    const c = leading();
    c.isolate('1');
    c.node('1').paused(25);
    expect(c.node('1').softState().role).to.equal('Follower');
  });

  it('after a transfer begins, reads go through a quorum round for the rest of the term', () => {
    const c = leading();
    c.isolate('3');
    c.node('1').transferLeadership('3');
    c.node('1').readIndex(7);
    c.flush();
    expect(c.reads.get('1') ?? []).to.deep.equal([]);
    c.settle(); // node 2 answers the round
    expect(c.reads.get('1')).to.deep.equal([{ context: 7, index: c.node('1').commitIndex() }]);
  });

  it('a node that just started holds off elections for an election timeout: it may have acknowledged a leader before it went down', () => {
    const booted = (leaseTicks: number): RaftCore =>
      new RaftCore({
        id: '1',
        configuration: votersOnly(['1', '2', '3']),
        electionTicks: 10,
        heartbeatTicks: 2,
        rng: seededRng(1),
        hardState: { term: 1, vote: null, commit: 0 },
        entries: [],
        checkQuorum: true,
        leaseTicks,
      });
    for (const [leaseTicks, answered] of [
      [7, false],
      [0, true],
    ] as const) {
      const core = booted(leaseTicks);
      core.step({ type: 'RequestVote', from: '2', to: '1', term: 2, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
      expect(ofType(core.ready().messages, 'RequestVoteResponse').length > 0, `leaseTicks ${leaseTicks}`).to.equal(answered);
    }
    const core = booted(7);
    for (let i = 0; i < 10; i++) core.tick();
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 9, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    expect(ofType(core.ready().messages, 'RequestVoteResponse')[0], 'after an election timeout').to.include({ granted: true });
  });

  it('refuses to run without check-quorum, or with a lease as long as an election timeout', () => {
    const make = (checkQuorum: boolean, leaseTicks: number) => () =>
      new RaftCore({
        id: '1',
        configuration: votersOnly(['1']),
        electionTicks: 10,
        heartbeatTicks: 2,
        rng: seededRng(1),
        hardState: EMPTY_HARD_STATE,
        entries: [],
        checkQuorum,
        leaseTicks,
      });
    expect(make(false, 7)).to.throw(/lease reads need checkQuorum/);
    expect(make(true, 10)).to.throw(/must be shorter than electionTicks/);
  });
});
