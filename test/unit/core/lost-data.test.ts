import { expect } from 'chai';
import { EMPTY_HARD_STATE } from '../../../src/core/types.ts';
import { CoreCluster, loneCore, normal, ofType } from '../../helpers/core-cluster.ts';

/** Wipes `id`'s disk and restarts it on a new data directory, as after losing its own. */
function loseData(c: CoreCluster, id: string): void {
  c.disks.set(id, { hardState: EMPTY_HARD_STATE, entries: [] });
  c.start(id, 99);
}

/** Three nodes that committed "x" under leader 1, which is then cut off from the other two. */
function xCommittedThenLeaderCutOff(): CoreCluster {
  const c = new CoreCluster(['1', '2', '3']);
  c.elect('1');
  c.node('1').propose(normal('x'));
  c.settle();
  c.isolate('1');
  return c;
}

describe('core: a follower that lost its data', () => {
  it('is caught up by the same leader at once, though it acknowledged more than it now holds, and the leader says so', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    for (let i = 0; i < 5; i++) c.node('1').propose(normal(`w${i}`));
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

  it('on empty storage, votes for a candidate with an empty log only once every other voter has shown an empty log', () => {
    const core = loneCore();
    const ask = (from: string, term: number): boolean | undefined => {
      core.step({ type: 'RequestVote', from, to: '1', term, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
      return ofType(core.ready().messages, 'RequestVoteResponse')[0]?.granted;
    };
    expect(ask('2', 1), 'node 3 has not shown its log yet').to.equal(false);
    expect(ask('3', 2), 'both have shown empty logs: a new cluster').to.equal(true);
    expect(core.isRejoining(), 'it voted in a new cluster: an ordinary member from then on').to.equal(false);
  });

  it('a lost node and a never-written one elect nobody while the member holding the log is out of reach', () => {
    const c = xCommittedThenLeaderCutOff();
    loseData(c, '2'); // its disk is gone
    loseData(c, '3'); // down since the cluster began: it never stored anything
    for (const id of ['3', '2']) {
      const core = c.node(id);
      for (let i = 0; i < 100 && core.softState().role === 'Follower'; i++) core.tick();
      c.settle();
    }
    expect(c.leaders(), 'only the cut-off old leader believes it leads').to.deep.equal(['1']);
    c.heal();
    for (let i = 0; i < 2; i++) c.node('1').tick();
    c.settle();
    const leader = c.leaders()[0]!;
    for (const id of c.ids) expect(c.appliedData(id), `node ${id} under leader ${leader}`).to.deep.equal(['x']);
  });

  it('a new cluster, every node on a new data directory, elects its first leader once each has asked for votes', () => {
    const c = new CoreCluster(['1', '2', '3']);
    for (const id of c.ids) loseData(c, id);
    expect(c.node('2').isRejoining()).to.equal(true);
    for (let round = 0; round < 100 && c.leaders().length === 0; round++) {
      for (const id of c.ids) c.node(id).tick();
      c.settle();
    }
    expect(c.leaders()).to.have.length(1);
    c.node(c.leaders()[0]!).propose(normal('first'));
    c.settle();
    for (const id of c.ids) {
      expect(c.node(id).isRejoining(), `node ${id}`).to.equal(false);
      expect(c.appliedData(id)).to.deep.equal(['first']);
    }
  });

  it('holds back until its log reaches every index the leader announced as committed, not only an entry of its term', () => {
    const core = loneCore({ id: '3' });
    const entry = (index: number) => ({ index, term: 2, kind: 'normal' as const, data: `e${index}` });
    const base = { type: 'AppendEntries', from: '1', to: '3', term: 2, readRound: 0 } as const;
    core.step({ ...base, prevLogIndex: 0, prevLogTerm: 0, entries: [1, 2, 3].map(entry), leaderCommit: 5 });
    expect(core.isRejoining(), 'entries 4 and 5 are committed, perhaps with its own lost acknowledgements').to.equal(true);
    core.step({ ...base, prevLogIndex: 3, prevLogTerm: 2, entries: [4, 5].map(entry), leaderCommit: 5 });
    expect(core.isRejoining()).to.equal(false);
  });

  it('keeps holding back across a crash until a leader has caught it up: the mark is on its disk', () => {
    const c = xCommittedThenLeaderCutOff();
    loseData(c, '3');
    const two = c.node('2');
    for (let i = 0; i < 100 && two.softState().role === 'Follower'; i++) two.tick();
    c.settle(); // node 3 learns node 2's term, and writes it with the mark
    expect(c.disks.get('3')!.hardState).to.include({ term: two.softState().term, rejoining: true });
    c.start('3', 5); // a crash before it was caught up
    expect(c.node('3').isRejoining()).to.equal(true);
    c.heal();
    // Node 2 tries again; node 1 elects it; node 3 hears the new leader and is caught up.
    for (let i = 0; i < 100 && two.softState().role !== 'Leader'; i++) {
      two.tick();
      c.settle();
    }
    expect(c.leaders()).to.deep.equal(['2']);
    expect(c.node('3').isRejoining()).to.equal(false);
    expect(c.disks.get('3')!.hardState.rejoining).to.equal(undefined);
  });

  it('refuses to vote for a candidate with a log until a leader has caught it up, holding that leader as its vote', () => {
    const c = xCommittedThenLeaderCutOff();
    loseData(c, '3');
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
  it("a match index beyond the leader's log", () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    const leader = c.node('1');
    const last = leader.lastIndex();
    leader.step({
      type: 'AppendEntriesResponse',
      from: '2',
      to: '1',
      term: 1,
      success: true,
      matchIndex: 10 ** 12,
      rejectedIndex: 0,
      conflictIndex: 0,
      conflictTerm: null,
      readRound: 0,
    });
    leader.step({
      type: 'AppendEntriesResponse',
      from: '3',
      to: '1',
      term: 1,
      success: false,
      matchIndex: 0,
      rejectedIndex: 10 ** 12,
      conflictIndex: 1,
      conflictTerm: null,
      readRound: 0,
    });
    const rd = leader.ready();
    expect(rd.warnings).to.deep.equal([
      `ignored a AppendEntriesResponse from 2: it claims to match up to index 1000000000000, beyond this leader's last index ${last}`,
      `ignored a AppendEntriesResponse from 3: it rejects index 1000000000000, beyond this leader's last index ${last}`,
    ]);
    leader.advance(rd);
    for (let i = 0; i < 10; i++) leader.tick(); // heartbeats: nothing was believed, so nothing throws
    expect(leader.commitIndex()).to.equal(last);
    c.node('1').propose(normal('after'));
    c.settle();
    expect(c.appliedData('2')).to.deep.equal(['after']);
  });

  it('an append carrying entries of a later term than its own, or of decreasing terms', () => {
    const c = new CoreCluster(['1', '2', '3']);
    const follower = c.node('2');
    const base = { type: 'AppendEntries', from: '1', to: '2', term: 3, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, readRound: 0 } as const;
    follower.step({ ...base, entries: [{ index: 1, term: 4, kind: 'normal', data: 'x' }] });
    follower.step({
      ...base,
      entries: [
        { index: 1, term: 3, kind: 'normal', data: 'x' },
        { index: 2, term: 2, kind: 'normal', data: 'y' },
      ],
    });
    follower.step({ ...base, prevLogIndex: 1, prevLogTerm: 5, entries: [] });
    const rd = follower.ready();
    expect(rd.warnings).to.have.length(3);
    expect(rd.warnings[0]).to.equal('ignored a AppendEntries from 1: entry 1 has term 4, outside 0..3');
    expect(rd.warnings[1]).to.equal('ignored a AppendEntries from 1: entry 2 has term 2, outside 3..3');
    expect(rd.warnings[2]).to.equal("ignored a AppendEntries from 1: the entry before its entries has term 5, later than the message's term 3");
    expect(follower.lastIndex()).to.equal(0);
    expect(follower.softState().term).to.equal(0);
    expect(ofType(rd.messages, 'AppendEntriesResponse')).to.deep.equal([]);
  });
});
