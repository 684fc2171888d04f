import { votersOnly } from '../../../src/core/membership.ts';
import { expect } from 'chai';
import { RaftCore } from '../../../src/core/raft.ts';
import { seededRng } from '../../../src/core/rng.ts';
import type { Message } from '../../../src/core/messages.ts';
import { CoreCluster, loneCore, normal, ofType } from '../../helpers/core-cluster.ts';

/** Three nodes that committed `count` operations under leader 1, each applied everywhere. */
function withHistory(count: number): CoreCluster {
  const c = new CoreCluster(['1', '2', '3']);
  c.elect('1');
  for (let i = 0; i < count; i++) c.node('1').propose(normal(`w${i}`));
  c.settle();
  for (let i = 0; i < 2; i++) c.node('1').tick(); // a heartbeat carries the last commit index
  c.settle();
  return c;
}

/** Delivers messages until the network is quiet, and returns every message delivered. */
function settleRecording(c: CoreCluster): Message[] {
  const delivered: Message[] = [];
  for (let round = 0; round < 1000; round++) {
    c.flush();
    if (c.queue.length === 0) return delivered;
    const batch = c.queue;
    c.queue = [];
    for (const m of batch) {
      if (c.cut.has(`${m.from}->${m.to}`)) continue;
      delivered.push(m);
      c.nodes.get(m.to)?.step(m);
    }
  }
  throw new Error('the cluster did not settle');
}

describe('core: snapshots and a log that starts after them (§7)', () => {
  it('compacting forgets the entries a snapshot covers, only up to the applied index', () => {
    const c = withHistory(10);
    const leader = c.node('1');
    const applied = leader.appliedIndex();
    const meta = leader.compact(applied - 2);
    expect(meta).to.deep.equal({ index: applied - 2, term: 1, configuration: votersOnly(['1', '2', '3']) });
    expect(leader.firstIndex()).to.equal(applied - 1);
    expect(leader.termAt(applied - 3)).to.equal(undefined);
    expect(leader.termAt(applied - 2)).to.equal(1);
    expect(leader.compact(applied - 2), 'nothing new to compact').to.equal(null);
    expect(() => leader.compact(applied + 1)).to.throw(/cannot compact to|past the applied index/);
  });

  it('compacting with a tail to keep records the snapshot at its index but leaves the last entries in the log', () => {
    const c = withHistory(10);
    const leader = c.node('1');
    const applied = leader.appliedIndex();
    const meta = leader.compact(applied, 4);
    expect(meta?.index).to.equal(applied);
    expect(leader.latestSnapshot()?.index).to.equal(applied);
    expect(leader.firstIndex(), 'the last four entries stay').to.equal(applied - 3);
    expect(leader.termAt(applied - 3)).to.equal(1);
    expect(leader.compact(applied - 1), 'an older snapshot changes nothing').to.equal(null);
    expect(leader.latestSnapshot()?.index).to.equal(applied);
  });

  it('a follower that needs compacted entries gets the snapshot, replication waits for it, then resumes from after it', () => {
    const c = withHistory(5);
    c.isolate('3');
    for (let i = 5; i < 10; i++) c.node('1').propose(normal(`w${i}`));
    c.settle();
    const leader = c.node('1');
    leader.compact(leader.appliedIndex());
    c.heal();
    for (let i = 0; i < 2; i++) leader.tick();
    // The heartbeat is rejected (node 3 lacks its previous entry), and the leader, which no longer
    // holds what node 3 needs, sends its snapshot, once.
    const sent = ofType(settleRecording(c), 'InstallSnapshot');
    expect(sent.map((m) => [m.to, m.snapshot.index])).to.deep.equal([['3', leader.appliedIndex()]]);
    const follower = c.node('3');
    expect(follower.firstIndex(), 'its log restarts after the snapshot').to.equal(leader.appliedIndex() + 1);
    expect(follower.appliedIndex()).to.equal(leader.appliedIndex());
    leader.propose(normal('after'));
    c.settle();
    expect(c.appliedData('3')).to.include('after');
    expect(follower.lastIndex()).to.equal(leader.lastIndex());
  });

  it('a snapshot at or below what the follower committed changes nothing, and is answered with its commit index', () => {
    const c = withHistory(6);
    const follower = c.node('2');
    const committed = follower.commitIndex();
    const stale = {
      type: 'InstallSnapshot',
      from: '1',
      to: '2',
      term: 1,
      snapshot: { index: committed - 1, term: 1, configuration: votersOnly(['1', '2', '3']) },
      readRound: 0,
    } as const;
    follower.step(stale);
    const rd = follower.ready();
    expect(rd.snapshot).to.equal(null);
    expect(ofType(rd.messages, 'AppendEntriesResponse')[0]).to.include({ success: true, matchIndex: committed });
    follower.advance(rd);
    expect(follower.firstIndex()).to.equal(1);
  });

  it('with sabotage install-stale-snapshot, an old snapshot rolls the follower back: the rule the sabotage breaks', () => {
    const follower = loneCore({
      id: '2',
      hardState: { term: 1, vote: '1', commit: 4 },
      entries: [1, 2, 3, 4].map((index) => ({ index, term: 1, kind: 'normal' as const, data: '' })),
      sabotage: 'install-stale-snapshot',
    });
    follower.step({
      type: 'InstallSnapshot',
      from: '1',
      to: '2',
      term: 1,
      snapshot: { index: 2, term: 1, configuration: votersOnly(['1', '2', '3']) },
      readRound: 0,
    });
    expect(follower.ready().snapshot).to.deep.include({ index: 2 });
    expect(follower.commitIndex()).to.equal(2);
  });

  it('a snapshot the leader sent that goes unanswered for an election timeout is sent again', () => {
    const c = withHistory(5);
    c.isolate('3');
    for (let i = 5; i < 8; i++) c.node('1').propose(normal(`w${i}`));
    c.settle();
    const leader = c.node('1');
    leader.compact(leader.appliedIndex());
    c.heal();
    for (let i = 0; i < 2; i++) leader.tick();
    c.flush();
    // The heartbeat reaches node 3 and its rejection comes back: the leader sends the snapshot, which is lost.
    for (let round = 0; round < 10 && !c.queue.some((m) => m.type === 'InstallSnapshot'); round++) {
      const batch = c.queue;
      c.queue = [];
      for (const m of batch) c.nodes.get(m.to)!.step(m);
      c.flush();
    }
    expect(ofType(c.queue, 'InstallSnapshot')).to.have.length(1);
    c.queue = c.queue.filter((m) => m.type !== 'InstallSnapshot');
    c.cut.add('3->1'); // from now on node 3's answers are lost too
    let resent = 0;
    for (let i = 0; i < 30; i++) {
      leader.tick();
      resent += ofType(settleRecording(c), 'InstallSnapshot').length;
    }
    expect(resent, 'sent again after each election timeout without an answer').to.be.greaterThan(1);
  });

  it('a node restarted from a snapshot starts its log after it, has applied it, and takes its voters', () => {
    const core = new RaftCore({
      id: '1',
      configuration: votersOnly(['1', '2', '3']),
      electionTicks: 10,
      heartbeatTicks: 2,
      rng: seededRng(1),
      hardState: { term: 3, vote: null, commit: 12 },
      snapshot: { index: 10, term: 2, configuration: votersOnly(['1', '2', '3', '4']) },
      entries: [11, 12, 13].map((index) => ({ index, term: 3, kind: 'normal' as const, data: `e${index}` })),
    });
    expect(core.firstIndex()).to.equal(11);
    expect(core.appliedIndex()).to.equal(10);
    expect(core.termAt(10)).to.equal(2);
    expect(core.voters()).to.deep.equal(['1', '2', '3', '4']);
    expect(core.ready().committedEntries.map((e) => e.index)).to.deep.equal([11, 12]);
  });
});
