import { expect } from 'chai';
import { isRefusal } from '../../../src/core/configuration-change.ts';
import { votersOnly, type Configuration } from '../../../src/core/membership.ts';
import { RaftCore } from '../../../src/core/raft.ts';
import { seededRng } from '../../../src/core/rng.ts';
import { EMPTY_HARD_STATE, type LogPosition, type NodeId } from '../../../src/core/types.ts';
import { CoreCluster } from '../../helpers/core-cluster.ts';

/** A cluster of 1, 2, 3 with `spares` started outside it, empty, as new machines would be. */
function clusterWithSpares(...spares: NodeId[]): CoreCluster {
  const c = new CoreCluster(['1', '2', '3', ...spares], { configuration: { ...votersOnly(['1', '2', '3']), addresses: { 1: 'a1', 2: 'a2', 3: 'a3' } } });
  c.elect('1');
  return c;
}

function propose(c: CoreCluster, leader: NodeId, data: string): void {
  c.node(leader).propose([{ kind: 'normal', data }]);
  c.settle();
}

function change(c: CoreCluster, leader: NodeId, ...changes: Parameters<RaftCore['proposeConfigChange']>[0]): LogPosition {
  const result = c.node(leader).proposeConfigChange(changes);
  if (result === null || isRefusal(result)) throw new Error(`change refused: ${JSON.stringify(result)}`);
  return result;
}

/** One heartbeat interval of the leader, and what it causes: followers that were cut off are probed again. */
function heartbeat(c: CoreCluster, leader: NodeId): void {
  for (let i = 0; i < 2; i++) c.node(leader).tick();
  c.settle();
}

const shape = (config: Configuration) => ({ voters: config.voters, outgoing: config.outgoing, learners: config.learners });

describe('core: membership changes (thesis chapter 4)', () => {
  it('adds a voter through a joint configuration, then the new one alone; the new member gets the whole log', () => {
    const c = clusterWithSpares('4');
    propose(c, '1', 'before');
    change(c, '1', { type: 'add-learner', id: '4', address: 'a4' });
    c.settle();
    const joint = change(c, '1', { type: 'add-voter', id: '4', address: 'a4' });
    // In force on the leader as soon as it is appended (thesis §4.1), before it commits.
    expect(shape(c.node('1').configuration())).to.deep.equal({ voters: ['1', '2', '3', '4'], outgoing: ['1', '2', '3'], learners: [] });
    c.settle();
    for (const id of c.ids) {
      expect(shape(c.node(id).configuration()), id).to.deep.equal({ voters: ['1', '2', '3', '4'], outgoing: [], learners: [] });
      expect(c.node(id).configurationIndex(), id).to.equal(joint.index + 1);
    }
    expect(c.node('1').commitIndex()).to.equal(joint.index + 1);
    expect(c.node('4').configuration().addresses).to.deep.equal({ 1: 'a1', 2: 'a2', 3: 'a3', 4: 'a4' });
    propose(c, '1', 'after');
    expect(c.appliedData('4')).to.deep.equal(['before', 'after']);
  });

  it("a new cluster's first leader writes the bootstrap configuration as its first entry; later leaders a no-op", () => {
    const c = clusterWithSpares();
    const first = c.disks.get('1')!.entries[0]!;
    expect([first.index, first.kind, JSON.parse(first.data)]).to.deep.equal([
      1,
      'config',
      { voters: ['1', '2', '3'], outgoing: [], learners: [], addresses: { 1: 'a1', 2: 'a2', 3: 'a3' } },
    ]);
    c.isolate('1');
    c.elect('2');
    expect(c.disks.get('2')!.entries.map((e) => e.kind)).to.deep.equal(['config', 'noop']);
  });

  it("the first leader's cluster id is in its first entry, committed on every node, and every later configuration carries it", () => {
    const c = new CoreCluster(['1', '2', '3', '4'], {
      configuration: { ...votersOnly(['1', '2', '3']), addresses: { 1: 'a1', 2: 'a2', 3: 'a3' }, cluster: 'blue' },
    });
    c.elect('1');
    expect(JSON.parse(c.disks.get('1')!.entries[0]!.data)).to.have.property('cluster', 'blue');
    change(c, '1', { type: 'add-learner', id: '4', address: 'a4' });
    c.settle();
    change(c, '1', { type: 'add-voter', id: '4', address: 'a4' });
    c.settle();
    change(c, '1', { type: 'remove', id: '3' });
    c.settle();
    for (const id of ['1', '2', '4']) {
      const committed = c.node(id).committedConfiguration();
      expect([shape(committed.configuration), committed.configuration.cluster, committed.index], id).to.deep.equal([
        { voters: ['1', '2', '4'], outgoing: [], learners: [] },
        'blue',
        c.node(id).configurationIndex(),
      ]);
    }
  });

  it('refuses a change while one is in flight, and changes that are impossible, saying why', () => {
    const c = clusterWithSpares('4', '5');
    c.isolate('2');
    c.isolate('3');
    change(c, '1', { type: 'add-learner', id: '4', address: 'a4' });
    const refusal = (...changes: Parameters<RaftCore['proposeConfigChange']>[0]) => {
      const result = c.node('1').proposeConfigChange(changes);
      return result !== null && isRefusal(result) ? result.message : 'accepted';
    };
    expect(refusal({ type: 'add-voter', id: '5', address: 'a5' })).to.match(/configuration change at index \d+ is not finished/);
    c.heal();
    c.settle();
    expect(refusal({ type: 'add-voter', id: '2', address: 'a2' })).to.equal('machine id 2 is a voter already');
    expect(refusal({ type: 'add-learner', id: '4', address: 'a4' })).to.equal('machine id 4 is a learner already');
    expect(refusal({ type: 'add-voter', id: '5', address: 'a3' })).to.equal('address a3 is used by machine id 3');
    expect(refusal({ type: 'add-voter', id: '4', address: 'elsewhere' })).to.equal('machine id 4 is a learner at a4, not at elsewhere');
    expect(refusal({ type: 'remove', id: '9' })).to.equal('machine id 9 is not a member');
    // Thesis §4.2.1: a voter joins only once it holds the log.
    expect(refusal({ type: 'add-voter', id: '5', address: 'a5' })).to.equal(
      'machine id 5 is not a learner: add it as a learner first, and promote it once it has caught up',
    );
    c.isolate('4');
    propose(c, '1', 'x');
    expect(refusal({ type: 'add-voter', id: '4', address: 'a4' })).to.match(
      /^learner 4 has not caught up yet \(it holds the log up to \d+ of \d+ committed\)$/,
    );
    expect(refusal({ type: 'remove', id: '1' }, { type: 'remove', id: '2' }, { type: 'remove', id: '3' })).to.match(/leave no voter/);
    expect(refusal({ type: 'remove', id: '2' }, { type: 'remove', id: '2' })).to.equal('machine id 2 appears twice in one change');
    expect(c.node('2').proposeConfigChange([{ type: 'remove', id: '3' }])).to.equal(null);
  });

  it('a learner receives the log but neither counts towards commitment nor campaigns; promoted, it votes', () => {
    const c = clusterWithSpares('4');
    change(c, '1', { type: 'add-learner', id: '4', address: 'a4' });
    c.settle();
    expect(shape(c.node('4').configuration())).to.deep.equal({ voters: ['1', '2', '3'], outgoing: [], learners: ['4'] });
    propose(c, '1', 'x');
    expect(c.appliedData('4')).to.deep.equal(['x']);
    // With both other voters cut off, the learner's acknowledgement commits nothing.
    c.isolate('2');
    c.isolate('3');
    const before = c.node('1').commitIndex();
    propose(c, '1', 'y');
    expect(c.node('1').commitIndex()).to.equal(before);
    // And however long it hears nothing, it never asks for votes.
    c.isolate('1');
    for (let i = 0; i < 100; i++) c.node('4').tick();
    expect(c.node('4').softState().role).to.equal('Follower');
    expect(c.queue.filter((m) => m.from === '4')).to.deep.equal([]);
    c.heal();
    c.settle();
    change(c, '1', { type: 'add-voter', id: '4', address: 'a4' });
    c.settle();
    expect(shape(c.node('4').configuration())).to.deep.equal({ voters: ['1', '2', '3', '4'], outgoing: [], learners: [] });
  });

  it('a joint configuration commits only with a majority of both halves', () => {
    const c = clusterWithSpares('4', '5');
    change(c, '1', { type: 'add-learner', id: '4', address: 'a4' }, { type: 'add-learner', id: '5', address: 'a5' });
    c.settle();
    // Replace 2 and 3 by 4 and 5 at once: the incoming half {1 4 5} alone must not commit anything.
    c.isolate('2');
    c.isolate('3');
    const joint = change(
      c,
      '1',
      { type: 'add-voter', id: '4', address: 'a4' },
      { type: 'add-voter', id: '5', address: 'a5' },
      { type: 'remove', id: '2' },
      {
        type: 'remove',
        id: '3',
      },
    );
    c.settle();
    expect(c.node('1').commitIndex()).to.be.below(joint.index);
    expect(c.node('4').lastIndex()).to.equal(joint.index);
    c.heal();
    heartbeat(c, '1');
    expect(c.node('1').commitIndex()).to.equal(joint.index + 1);
    expect(shape(c.node('1').configuration())).to.deep.equal({ voters: ['1', '4', '5'], outgoing: [], learners: [] });
  });

  it('a removed leader leads until the configuration without it commits, then hands over and steps down; the removed never campaign', () => {
    const c = clusterWithSpares();
    propose(c, '1', 'a');
    change(c, '1', { type: 'remove', id: '1' });
    c.settle();
    const leaders = c.leaders();
    expect(leaders).to.have.length(1);
    expect(leaders[0]).to.not.equal('1');
    const leader = leaders[0]!;
    expect(c.node(leader).softState().term).to.equal(2);
    // The removed node knows it was removed, and stays quiet however long it hears nothing.
    expect(c.node('1').configuration().voters).to.deep.equal(['2', '3']);
    c.isolate('1');
    for (let i = 0; i < 100; i++) c.node('1').tick();
    c.flush();
    expect(c.queue.filter((m) => m.from === '1')).to.deep.equal([]);
    c.heal();
    propose(c, leader, 'b');
    expect(c.appliedData(leader)).to.deep.equal(['a', 'b']);
  });

  it('a new leader makes no change before it commits an entry of its term, nor one that leaves a quorum without the log', () => {
    const c = clusterWithSpares();
    c.isolate('2');
    c.isolate('3');
    // 1 campaigns again, cut off: it leads term 2 (no pre-vote here) but commits nothing of it.
    for (let i = 0; i < 3; i++) c.node('1').tick();
    c.heal();
    c.cut.add('1->3');
    c.cut.add('3->1');
    c.cut.add('2->3');
    c.elect('2');
    expect(c.leaders()).to.deep.equal(['2']);
    propose(c, '2', 'x');
    // 3 holds nothing of term 3; {2 3} after removing 1 would need its vote.
    const refused = c.node('2').proposeConfigChange([{ type: 'remove', id: '1' }]);
    expect(refused).to.deep.equal({
      reason: 'in-flight',
      message: 'the new configuration would depend on voters that do not hold the log yet (3): wait until they catch up',
    });
  });

  it('a removed leader holding the uncommitted configuration without itself may stand again, to commit it (thesis §4.2.2)', () => {
    // Voters 1 and 3; 2 a learner. Replacing 1 by 2 passes through {2 3} joint with {1 3}, which needs 1's vote.
    const c = new CoreCluster(['1', '2', '3'], { checkQuorum: true, configuration: votersOnly(['1', '3']) });
    c.elect('1');
    change(c, '1', { type: 'add-learner', id: '2', address: 'a2' });
    c.settle();
    change(c, '1', { type: 'add-voter', id: '2', address: 'a2' }, { type: 'remove', id: '1' });
    // Deliver until leader 1 has appended the configuration without itself, then cut it off.
    for (let round = 0; ; round++) {
      if (round > 50) throw new Error('the joint configuration never committed');
      c.flush();
      if (c.node('1').configuration().outgoing.length === 0) break;
      const batch = c.queue;
      c.queue = [];
      for (const m of batch) c.node(m.to).step(m);
    }
    c.isolate('1');
    c.settle();
    for (let i = 0; i < 30; i++) c.node('1').tick();
    expect(c.node('1').softState().role).to.equal('Follower');
    // 2 and 3 hold the joint configuration, which needs 1's vote; 1's log is longer, so it refuses them.
    c.heal();
    for (let i = 0; i < 30 && c.leaders().length === 0; i++) {
      c.node('2').tick();
      c.node('3').tick();
      c.settle();
    }
    expect(c.leaders()).to.deep.equal([]);
    // 1 may stand: it wins with 2 and 3, commits its removal, steps down and hands over.
    for (let i = 0; i < 30 && c.node('1').softState().role === 'Follower'; i++) c.node('1').tick();
    c.settle();
    expect(c.node('1').softState().role).to.equal('Follower');
    expect(c.leaders()).to.have.length(1);
    expect(shape(c.node(c.leaders()[0]!).configuration())).to.deep.equal({ voters: ['2', '3'], outgoing: [], learners: [] });
  });

  it('a removed follower is sent the configuration that removes it and told it is committed, then nothing more', () => {
    const c = clusterWithSpares();
    change(c, '1', { type: 'remove', id: '3' });
    c.settle();
    expect(c.node('3').configuration().voters).to.deep.equal(['1', '2']);
    // It knows it was removed for good: the runtime stops it then.
    expect(c.node('3').commitIndex()).to.be.at.least(c.node('3').configurationIndex());
    propose(c, '1', 'z');
    expect(c.appliedData('3')).to.deep.equal([]);
    expect(c.appliedData('2')).to.deep.equal(['z']);
  });

  it('a configuration cut from the log with its entry is no longer in force (thesis §4.1)', () => {
    const c = new CoreCluster(['1', '2', '3', '4', '5', '6'], { configuration: votersOnly(['1', '2', '3', '4', '5']) });
    c.elect('1');
    // Leader 1's configuration reaches 2 alone, and 2's answer is lost: it is in force on 1 and 2, committed nowhere.
    for (const to of ['3', '4', '5', '6']) c.cut.add(`1->${to}`);
    c.cut.add('2->1');
    change(c, '1', { type: 'add-learner', id: '6', address: 'a6' });
    c.settle();
    expect(c.node('2').configuration().learners).to.deep.equal(['6']);
    // 3 wins the next term with 4 and 5, whose logs are as long as its own, and replicates over it.
    c.heal();
    c.isolate('1');
    c.elect('3');
    expect(c.leaders()).to.deep.equal(['1', '3']);
    propose(c, '3', 'y');
    expect(c.node('2').configuration()).to.deep.equal(votersOnly(['1', '2', '3', '4', '5']));
    // The first leader wrote the bootstrap configuration into the log as its first entry.
    expect(c.node('2').configurationIndex()).to.equal(1);
    expect(c.appliedData('2')).to.deep.equal(['y']);
  });

  it('is kept with the log across a restart, and in a snapshot once the log is compacted', () => {
    const c = clusterWithSpares('4');
    change(c, '1', { type: 'add-learner', id: '4', address: 'a4' });
    c.settle();
    change(c, '1', { type: 'add-voter', id: '4', address: 'a4' });
    c.settle();
    const restarted = c.start('2', 9);
    expect(shape(restarted.configuration())).to.deep.equal({ voters: ['1', '2', '3', '4'], outgoing: [], learners: [] });
    const leader = c.node('1');
    const meta = leader.compact(leader.appliedIndex());
    expect(meta?.configuration.voters).to.deep.equal(['1', '2', '3', '4']);
    const fromSnapshot = new RaftCore({
      id: '2',
      configuration: votersOnly(['1', '2', '3']),
      electionTicks: 10,
      heartbeatTicks: 2,
      rng: seededRng(3),
      hardState: { ...EMPTY_HARD_STATE, term: 1, commit: meta!.index },
      entries: [],
      snapshot: meta!,
    });
    expect(fromSnapshot.configuration()).to.deep.equal(meta!.configuration);
    expect(fromSnapshot.configurationIndex()).to.equal(meta!.index);
  });
});
