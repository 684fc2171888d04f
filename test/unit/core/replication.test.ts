import { expect } from 'chai';
import type { AppendEntries } from '../../../src/core/messages.ts';
import { RaftLog } from '../../../src/core/log.ts';
import { RaftCore } from '../../../src/core/raft.ts';
import { seededRng } from '../../../src/core/rng.ts';
import type { Entry, HardState } from '../../../src/core/types.ts';
import { CoreCluster, loneCore, normal, ofType } from '../../helpers/core-cluster.ts';

const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, kind: 'normal', data });

function follower(hardState: HardState, entries: Entry[]): RaftCore {
  return loneCore({ id: '2', rng: seededRng(3), hardState, entries });
}

function append(fields: Partial<AppendEntries>): AppendEntries {
  return { type: 'AppendEntries', from: '1', to: '2', term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, readRound: 0, ...fields };
}

describe('core: log replication (§5.3)', () => {
  it('rejects an append whose previous entry it lacks, and says where its log ends', () => {
    const core = follower({ term: 3, vote: null, commit: 0 }, [entry(1, 1), entry(2, 1)]);
    core.step(append({ prevLogIndex: 5, prevLogTerm: 3, entries: [entry(6, 3)] }));
    const [reply] = ofType(core.ready().messages, 'AppendEntriesResponse');
    expect(reply).to.deep.include({ success: false, rejectedIndex: 5, conflictIndex: 3, conflictTerm: null });
    expect(core.lastIndex()).to.equal(2);
  });

  it('rejects an append whose previous entry has another term, naming that term and where it starts', () => {
    const core = follower({ term: 3, vote: null, commit: 1 }, [entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 2)]);
    core.step(append({ prevLogIndex: 4, prevLogTerm: 3 }));
    const [reply] = ofType(core.ready().messages, 'AppendEntriesResponse');
    expect(reply).to.deep.include({ success: false, conflictIndex: 2, conflictTerm: 2 });
  });

  it("deletes a conflicting suffix and appends the leader's entries (§5.3 rule 3)", () => {
    const core = follower({ term: 3, vote: null, commit: 1 }, [entry(1, 1), entry(2, 2, 'old'), entry(3, 2, 'old')]);
    core.step(append({ prevLogIndex: 1, prevLogTerm: 1, entries: [entry(2, 3, 'new')] }));
    const rd = core.ready();
    expect(rd.entries.map((e) => [e.index, e.term, e.data])).to.deep.equal([[2, 3, 'new']]);
    expect(core.lastIndex()).to.equal(2);
    expect(ofType(rd.messages, 'AppendEntriesResponse')[0]).to.deep.include({ success: true, matchIndex: 2 });
  });

  it('keeps entries it already holds with the same term, even after a shorter, reordered append', () => {
    const core = follower({ term: 3, vote: null, commit: 0 }, []);
    core.step(append({ entries: [entry(1, 3), entry(2, 3), entry(3, 3)] }));
    core.step(append({ entries: [entry(1, 3)] })); // a late duplicate of an earlier, shorter append
    expect(core.lastIndex()).to.equal(3);
    const replies = ofType(core.ready().messages, 'AppendEntriesResponse');
    expect(replies.map((r) => r.matchIndex)).to.deep.equal([3, 1]);
  });

  it('commits no further than the last entry the append vouches for (§5.3 rule 5)', () => {
    const core = follower({ term: 3, vote: null, commit: 0 }, [entry(1, 1), entry(2, 1), entry(3, 2)]);
    core.step(append({ prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 3 }));
    expect(core.commitIndex()).to.equal(1);
  });

  it('a follower applies only entries that are both committed and durable', () => {
    const core = follower({ term: 3, vote: null, commit: 0 }, []);
    core.step(append({ entries: [entry(1, 3), entry(2, 3)], leaderCommit: 2 }));
    const rd = core.ready();
    expect(rd.entries).to.have.length(2);
    expect(rd.committedEntries).to.have.length(0);
    core.advance(rd);
    expect(core.ready().committedEntries.map((e) => e.index)).to.deep.equal([1, 2]);
  });

  it('replicates and applies the same entries in the same order on every node', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    for (let i = 0; i < 20; i++) c.node('1').propose(normal(`op${i}`, `op${i}b`));
    c.settle();
    const expected = Array.from({ length: 20 }, (_, i) => [`op${i}`, `op${i}b`]).flat();
    for (const id of c.ids) expect(c.appliedData(id)).to.deep.equal(expected);
  });

  it('one append carries many entries, capped by maxEntriesPerMessage', () => {
    const c = new CoreCluster(['1', '2', '3'], { maxEntriesPerMessage: 4 });
    c.elect('1');
    c.cut.add('1->2').add('1->3');
    c.node('1').propose(normal(...Array.from({ length: 10 }, (_, i) => `op${i}`)));
    c.heal();
    c.node('1').tick();
    c.node('1').tick(); // heartbeat: the followers were missing the new entries
    c.flush();
    const appends = ofType(c.queue, 'AppendEntries');
    expect(appends.length).to.be.greaterThan(0);
    for (const m of appends) expect(m.entries.length).to.be.at.most(4);
    c.settle();
    for (const id of c.ids) expect(c.appliedData(id)).to.have.length(10);
  });

  it("the leader's own entries count towards commit only once durable", () => {
    const c = new CoreCluster(['1']);
    c.elect('1');
    const core = c.node('1');
    core.propose(normal('x'));
    const rd = core.ready();
    expect(rd.entries.map((e) => e.data)).to.deep.equal(['x']);
    expect(core.commitIndex()).to.equal(1);
    core.advance(rd);
    expect(core.commitIndex()).to.equal(2);
  });

  it('a leader tells followers a new commit index only when asked to, and not those an append told already', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    const leader = c.node('1');
    leader.propose(normal('x'));
    const appends = ofType(leader.ready().messages, 'AppendEntries');
    expect(appends.map((m) => m.to)).to.deep.equal(['2', '3']);
    const acknowledge = (from: string, matchIndex: number) =>
      leader.step({
        type: 'AppendEntriesResponse',
        from,
        to: '1',
        term: 1,
        success: true,
        matchIndex,
        rejectedIndex: 0,
        conflictIndex: 0,
        conflictTerm: null,
        readRound: 0,
      });
    acknowledge('2', 2);
    leader.advance(leader.ready());
    expect(leader.commitIndex()).to.equal(2);
    expect(ofType(leader.ready().messages, 'AppendEntries'), 'nothing sent at the commit itself').to.deep.equal([]);
    expect(leader.owesCommitNotices()).to.equal(true);
    // A proposal before the flush: its appends carry the commit index, so nobody is owed a notice.
    leader.propose(normal('y'));
    const next = ofType(leader.ready().messages, 'AppendEntries');
    expect(next.map((m) => [m.to, m.leaderCommit, m.entries.length])).to.deep.equal([
      ['2', 2, 1],
      ['3', 2, 1],
    ]);
    expect(leader.owesCommitNotices()).to.equal(false);
    acknowledge('3', 3);
    leader.advance(leader.ready());
    expect(leader.commitIndex()).to.equal(3);
    leader.flushCommitNotices();
    const notices = ofType(leader.ready().messages, 'AppendEntries');
    expect(notices.map((m) => [m.to, m.leaderCommit, m.entries.length])).to.deep.equal([
      ['2', 3, 0],
      ['3', 3, 0],
    ]);
    expect(leader.owesCommitNotices()).to.equal(false);
  });

  it('a follower far behind with a divergent log converges in a few round trips (fast backtracking)', () => {
    const c = new CoreCluster(['1', '2', '3']);
    c.elect('1');
    // Node 3 leads term 2 alone and piles up 50 uncommitted entries.
    c.isolate('3');
    for (let i = 0; i < 30; i++) c.node('3').tick();
    c.settle();
    expect(c.node('3').softState().role).to.equal('Candidate');
    // Meanwhile 1 commits 50 entries in term 1.
    for (let i = 0; i < 50; i++) c.node('1').propose(normal(`a${i}`));
    c.settle();
    c.heal();
    let appendsTo3 = 0;
    for (let round = 0; round < 50 && c.appliedData('3').length < 50; round++) {
      c.node('1').tick();
      c.flush();
      appendsTo3 += ofType(c.queue, 'AppendEntries').filter((m) => m.to === '3').length;
      c.settle();
    }
    expect(c.appliedData('3')).to.deep.equal(c.appliedData('1'));
    expect(appendsTo3).to.be.lessThan(20);
  });
});

describe('core: the commit rule of §5.4.2 (Figure 8)', () => {
  it('a leader does not commit an entry of an earlier term by counting replicas', () => {
    // S1 leads term 2 and holds entry (2, term 2) which reached S2; S5 (term 3) could still overwrite it.
    const c = new CoreCluster(['1', '2', '3', '4', '5']);
    const d = (id: string, hs: HardState, entries: Entry[]) => {
      c.disks.set(id, { hardState: hs, entries });
      c.start(id, Number(id));
    };
    d('1', { term: 4, vote: '1', commit: 1 }, [entry(1, 1), entry(2, 2)]);
    d('2', { term: 4, vote: '1', commit: 1 }, [entry(1, 1), entry(2, 2)]);
    d('3', { term: 4, vote: '1', commit: 1 }, [entry(1, 1)]);
    d('4', { term: 4, vote: null, commit: 1 }, [entry(1, 1)]);
    d('5', { term: 4, vote: null, commit: 1 }, [entry(1, 1), entry(2, 3)]);
    // S1 becomes leader of term 5 with votes of 1, 2, 3; S4 and S5 are cut off from everyone for now.
    c.isolate('4');
    c.isolate('5');
    c.elect('1');
    const core = c.node('1');
    expect(core.softState().role).to.equal('Leader');
    // Entry 2 (term 2) is now on S1, S2 and S3: a majority. Without the leader's own term-5 entry it
    // must not count as committed; the no-op of term 5 at index 3 commits both together.
    expect(core.termAt(3)).to.equal(5);
    expect(core.commitIndex()).to.equal(3);
    expect(c.node('3').termAt(2)).to.equal(2);

    // The same, but the new leader's term-5 entry cannot reach anyone: entry 2 stays uncommitted.
    const c2 = new CoreCluster(['1', '2', '3', '4', '5']);
    c2.disks.set('1', { hardState: { term: 4, vote: '1', commit: 1 }, entries: [entry(1, 1), entry(2, 2)] });
    c2.disks.set('2', { hardState: { term: 4, vote: '1', commit: 1 }, entries: [entry(1, 1), entry(2, 2)] });
    c2.disks.set('3', { hardState: { term: 4, vote: '1', commit: 1 }, entries: [entry(1, 1)] });
    for (const id of c2.ids) c2.start(id, Number(id));
    const leader = c2.node('1');
    while (leader.softState().role !== 'Candidate') leader.tick();
    c2.flush();
    const votes = c2.queue.filter((m) => m.from === '1');
    c2.queue = [];
    for (const m of votes) if (m.to === '2' || m.to === '3') c2.node(m.to).step(m);
    c2.flush();
    const grants = c2.queue;
    c2.queue = [];
    for (const m of grants) leader.step(m);
    expect(leader.softState().role).to.equal('Leader');
    c2.flush(); // appends of the no-op are queued but never delivered
    // Acknowledgements of entry 2 alone (as from an earlier round) from S2 and S3:
    for (const from of ['2', '3']) {
      leader.step({
        type: 'AppendEntriesResponse',
        from,
        to: '1',
        term: leader.softState().term,
        success: true,
        matchIndex: 2,
        rejectedIndex: 1,
        conflictIndex: 0,
        conflictTerm: null,
        readRound: 0,
      });
    }
    expect(leader.commitIndex()).to.equal(1);
  });

  it('takes 300,000 entries in one append or one merge (more than a call can spread as arguments)', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => entry(i + 1, 1));
    const leaderLog = new RaftLog([], 0);
    leaderLog.append(many);
    expect(leaderLog.lastIndex()).to.equal(300_000);
    const followerLog = new RaftLog([entry(1, 1)], 0);
    expect(followerLog.merge(0, many)).to.equal(300_000);
    expect(followerLog.lastIndex()).to.equal(300_000);
    expect(followerLog.term(300_000)).to.equal(1);
  });
});
