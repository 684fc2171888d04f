import { expect } from 'chai';
import { CoreCluster, normal, ofType } from '../../helpers/core-cluster.ts';

describe('core: ReadIndex, linearizable reads without the log (thesis §6.4)', () => {
  it('a leader answers a read with its commit index only after a quorum answers a heartbeat sent after it', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    c.node('1').propose(normal('x'));
    c.settle();
    const leader = c.node('1');
    expect(leader.readIndex(7)).to.equal(true);
    c.flush();
    expect(c.reads.get('1')).to.equal(undefined);
    const heartbeats = ofType(c.queue, 'AppendEntries');
    expect(heartbeats.map((m) => m.to)).to.deep.equal(['2', '3']);
    expect(heartbeats[0]!.readRound).to.be.greaterThan(0);
    // Only node 2 answers: with the leader, that is a quorum of three.
    c.queue = c.queue.filter((m) => m.to === '2');
    c.settle();
    expect(c.reads.get('1')).to.deep.equal([{ context: 7, index: leader.commitIndex() }]);
  });

  it('a new leader holds reads until it has committed an entry of its own term', () => {
    const c = new CoreCluster(['1', '2', '3']);
    const leader = c.node('1');
    while (leader.softState().role !== 'Candidate') leader.tick();
    c.flush();
    c.queue = c.queue.filter((m) => m.type === 'RequestVote');
    for (const m of c.queue.splice(0)) c.node(m.to).step(m);
    c.flush();
    for (const m of c.queue.splice(0)) leader.step(m);
    expect(leader.softState().role).to.equal('Leader');
    c.flush();
    c.queue = []; // the no-op's appends are lost: nothing of this term is committed yet
    leader.readIndex(1);
    c.flush();
    expect(ofType(c.queue, 'AppendEntries'), 'no read round before the no-op commits').to.deep.equal([]);
    for (let i = 0; i < 2; i++) leader.tick(); // a heartbeat carries the no-op again
    c.settle();
    expect(leader.commitIndex()).to.equal(1);
    expect(c.reads.get('1')).to.deep.equal([{ context: 1, index: 1 }]);
  });

  it("a follower's read goes to the leader and comes back with the leader's commit index", () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    c.node('1').propose(normal('a', 'b'));
    c.settle();
    expect(c.node('3').readIndex(42)).to.equal(true);
    c.settle();
    expect(c.reads.get('3')).to.deep.equal([{ context: 42, index: c.node('1').commitIndex() }]);
  });

  it('a leader cut off from the majority never serves the read; when it steps down, the asker is told to retry', () => {
    const c = new CoreCluster(['1', '2', '3'], { checkQuorum: true, preVote: true });
    c.elect('1');
    c.isolate('1');
    const leader = c.node('1');
    leader.readIndex(9);
    for (let i = 0; i < 30 && leader.softState().role === 'Leader'; i++) {
      leader.tick();
      c.settle();
    }
    expect(leader.softState().role).to.equal('Follower');
    expect(c.reads.get('1')).to.deep.equal([{ context: 9, index: null }]);
  });

  it('a follower whose leader changes is told to retry its outstanding read', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    c.cut.add('3->1');
    c.node('3').readIndex(5);
    c.settle(); // the request is lost
    c.heal();
    c.isolate('1');
    c.elect('2');
    expect(c.reads.get('3')).to.deep.equal([{ context: 5, index: null }]);
  });

  it('a single node serves a read at once, and a node that knows no leader says so', () => {
    const solo = new CoreCluster(['1']);
    solo.elect('1');
    solo.node('1').readIndex(3);
    solo.flush();
    expect(solo.reads.get('1')).to.deep.equal([{ context: 3, index: solo.node('1').commitIndex() }]);
    expect(new CoreCluster(['1', '2', '3']).node('2').readIndex(1)).to.equal(false);
  });
});
