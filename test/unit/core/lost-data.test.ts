import { expect } from 'chai';
import { EMPTY_HARD_STATE } from '../../../src/core/types.ts';
import { CoreCluster, ofType } from '../../helpers/core-cluster.ts';

/** Wipes `id`'s disk and restarts it, as a lost data directory would. */
function loseData(c: CoreCluster, id: string): void {
  c.disks.set(id, { hardState: EMPTY_HARD_STATE, entries: [] });
  c.start(id, 99);
}

describe('core: a follower that lost its data', () => {
  it('is caught up by the same leader at once, though it acknowledged more than it now holds, and the leader says so', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    for (let i = 0; i < 5; i++) c.node('1').propose([`w${i}`]);
    c.settle();
    const before = c.node('1').lastIndex();
    loseData(c, '3');
    c.node('1').tick();
    c.node('1').tick(); // a heartbeat, which node 3 rejects: its log ends at 0
    const warnings: string[] = [];
    for (let round = 0; round < 20 && c.node('3').lastIndex() < before; round++) {
      c.flush();
      const batch = c.queue;
      c.queue = [];
      for (const m of batch) c.nodes.get(m.to)!.step(m);
      if (c.node('1').hasReady()) {
        const rd = c.node('1').ready();
        warnings.push(...rd.warnings);
        c.queue.push(...rd.messages);
        c.node('1').advance(rd);
      }
    }
    expect(c.node('3').lastIndex()).to.equal(before);
    expect(c.leaders()).to.deep.equal(['1']);
    expect(c.node('1').softState().term).to.equal(1);
    expect(warnings.join('\n')).to.match(/follower 3's log ends at index 0, below the \d+ it acknowledged: it lost entries; sending them again/);
    c.settle();
    expect(c.appliedData('3')).to.deep.equal(['w0', 'w1', 'w2', 'w3', 'w4']);
  });

  it('votes in a new cluster\'s first election, where every log is empty', () => {
    const c = new CoreCluster(['1', '2', '3']);
    expect(c.node('2').isRejoining()).to.equal(true);
    c.elect('1');
    expect(c.leaders()).to.deep.equal(['1']);
    for (const id of c.ids) expect(c.node(id).isRejoining(), `node ${id}`).to.equal(false);
  });

  it('refuses to vote for a candidate with a log until a leader has caught it up, holding that leader as its vote', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    c.node('1').propose(['x']);
    c.settle();
    loseData(c, '3');
    c.isolate('1');
    // Node 2 campaigns; node 3, empty, may have voted in this term before its data was lost.
    const two = c.node('2');
    for (let i = 0; i < 100 && two.softState().role === 'Follower'; i++) two.tick();
    c.settle();
    expect(two.softState().role, 'node 2 cannot win without node 3').to.equal('Candidate');
    expect(c.node('3').hardState()).to.include({ term: two.softState().term, vote: null });
    expect(c.node('3').isRejoining()).to.equal(true);

    // The partition heals and node 2 tries again: node 1 elects it; node 3 hears the new leader,
    // takes it as its vote in that term, and is caught up.
    c.heal();
    const term = two.softState().term;
    for (let i = 0; i < 100 && two.softState().term === term; i++) two.tick();
    c.settle();
    expect(c.leaders()).to.deep.equal(['2']);
    expect(c.node('3').hardState()).to.include({ term: two.softState().term, vote: '2' });
    expect(c.node('3').isRejoining()).to.equal(false);
    expect(c.appliedData('3')).to.deep.equal(['x']);
  });

  it('a node that starts with state of its own is never held back', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    c.start('2', 7); // a restart with its disk intact
    expect(c.node('2').isRejoining()).to.equal(false);
  });
});

describe('core: implausible claims from a peer are ignored and reported, never thrown', () => {
  it('a match index beyond the leader\'s log', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    const leader = c.node('1');
    const last = leader.lastIndex();
    leader.step({ type: 'AppendEntriesResponse', from: '2', to: '1', term: 1, success: true, matchIndex: 10 ** 12, rejectedIndex: 0, conflictIndex: 0, conflictTerm: null, readRound: 0 });
    leader.step({ type: 'AppendEntriesResponse', from: '3', to: '1', term: 1, success: false, matchIndex: 0, rejectedIndex: 10 ** 12, conflictIndex: 1, conflictTerm: null, readRound: 0 });
    const rd = leader.ready();
    expect(rd.warnings).to.deep.equal([
      `ignored a AppendEntriesResponse from 2: it claims to match up to index 1000000000000, beyond this leader's last index ${last}`,
      `ignored a AppendEntriesResponse from 3: it rejects index 1000000000000, beyond this leader's last index ${last}`,
    ]);
    leader.advance(rd);
    for (let i = 0; i < 10; i++) leader.tick(); // heartbeats: nothing was believed, so nothing throws
    expect(leader.commitIndex()).to.equal(last);
    c.node('1').propose(['after']);
    c.settle();
    expect(c.appliedData('2')).to.deep.equal(['after']);
  });

  it('an append carrying entries of a later term than its own, or of decreasing terms', () => {
    const c = new CoreCluster(['1', '2', '3']);
    const follower = c.node('2');
    const base = { type: 'AppendEntries', from: '1', to: '2', term: 3, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, readRound: 0 } as const;
    follower.step({ ...base, entries: [{ index: 1, term: 4, kind: 'normal', data: 'x' }] });
    follower.step({ ...base, entries: [{ index: 1, term: 3, kind: 'normal', data: 'x' }, { index: 2, term: 2, kind: 'normal', data: 'y' }] });
    follower.step({ ...base, prevLogIndex: 1, prevLogTerm: 5, entries: [] });
    const rd = follower.ready();
    expect(rd.warnings).to.have.length(3);
    expect(rd.warnings[0]).to.equal('ignored a AppendEntries from 1: entry 1 has term 4, outside 0..3');
    expect(rd.warnings[1]).to.equal('ignored a AppendEntries from 1: entry 2 has term 2, outside 3..3');
    expect(rd.warnings[2]).to.equal('ignored a AppendEntries from 1: the entry before its entries has term 5, later than the message\'s term 3');
    expect(follower.lastIndex()).to.equal(0);
    expect(follower.softState().term).to.equal(0);
    expect(ofType(rd.messages, 'AppendEntriesResponse')).to.deep.equal([]);
  });
});
