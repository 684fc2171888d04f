import { expect } from 'chai';
import { GraftError } from '../../src/errors.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<GraftError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome, 'expected a rejection').to.be.instanceOf(GraftError);
  return outcome as GraftError;
}

describe('integration: membership changes at runtime (thesis chapter 4)', function () {
  this.timeout(30_000);
  let cluster: GraftCluster;

  afterEach(async () => {
    await cluster?.stop();
  });

  it('grows from 3 to 4: a machine outside the configuration is added as a learner, caught up, promoted, and holds every write', async () => {
    cluster = await GraftCluster.create(3);
    const leader = cluster.node(await cluster.agreedLeader()).graft;
    await leader.applyOperation('before');
    const { node: four, address } = await cluster.startOutsider('4');
    const seen: string[] = [];
    leader.on('membership', (members) => seen.push(members.map((m) => `${m.id}:${m.role}`).join(' ')));
    const members = await leader.addMember('4', address);
    expect(members.map((m) => [m.id, m.role])).to.deep.equal([
      ['1', 'voter'],
      ['2', 'voter'],
      ['3', 'voter'],
      ['4', 'voter'],
    ]);
    expect(members.find((m) => m.id === '4')!.address).to.equal(address);
    // The steps as the leader saw them take effect: learner, joint (4 a voter of the incoming half), final.
    expect(seen[0]).to.equal('1:voter 2:voter 3:voter 4:learner');
    expect(seen.at(-1)).to.equal('1:voter 2:voter 3:voter 4:voter');
    await leader.applyOperation('after');
    await waitUntil(cluster.instances(), () => four.applied.includes('after'), 'node 4 applies the write after it joined');
    expect(four.applied).to.deep.equal(['before', 'after']);
    expect(four.graft.status().members.map((m) => `${m.id}:${m.role}`)).to.deep.equal(['1:voter', '2:voter', '3:voter', '4:voter']);
    // Asked again, it is already done.
    expect((await leader.addMember('4', address)).map((m) => m.id)).to.deep.equal(['1', '2', '3', '4']);
  });

  it('a machine added and later restarted on its storage is a member again without being added', async () => {
    cluster = await GraftCluster.create(3);
    const leader = cluster.node(await cluster.agreedLeader()).graft;
    const { address } = await cluster.startOutsider('4');
    await leader.addMember('4', address);
    await cluster.restart('4');
    const four = cluster.node('4');
    await leader.applyOperation('x');
    await waitUntil(cluster.instances(), () => four.applied.includes('x'), 'the restarted member applies new writes');
    expect(four.graft.members().map((m) => m.id)).to.deep.equal(['1', '2', '3', '4']);
  });

  it('removes the leader: it leads until the configuration without it commits, then a remaining voter leads; it says it was removed', async () => {
    cluster = await GraftCluster.create(3);
    const leaderId = await cluster.agreedLeader();
    const leader = cluster.node(leaderId).graft;
    const removed = new Promise<number>((resolve) => leader.once('removed', resolve));
    const members = await leader.removeMember(leaderId);
    expect(members.map((m) => m.id)).to.not.include(leaderId);
    expect(await removed).to.be.greaterThan(0);
    const others = [...cluster.nodes.keys()].filter((id) => id !== leaderId);
    await waitUntil(cluster.instances(), () => others.some((id) => cluster.node(id).graft.status().role === 'Leader'), 'a remaining voter leads');
    const next = others.find((id) => cluster.node(id).graft.status().role === 'Leader')!;
    await cluster.node(next).graft.applyOperation('after removal');
    expect(
      cluster
        .node(next)
        .graft.members()
        .map((m) => m.id),
    ).to.deep.equal(others);
    expect(leader.status().role).to.not.equal('Leader');
  });

  it('refuses what cannot or must not be done, saying why', async () => {
    cluster = await GraftCluster.create(3, { catchUpTimeoutMs: 1000 });
    const leaderId = await cluster.agreedLeader();
    const leader = cluster.node(leaderId).graft;
    const follower = cluster.node(['1', '2', '3'].find((id) => id !== leaderId)!).graft;
    const notLeader = await rejection(follower.removeMember('3'));
    expect([notLeader.code, notLeader.leader]).to.deep.equal(['NOT_LEADER', leaderId]);
    const usedAddress = cluster.config.members.get('2')!;
    expect((await rejection(leader.addMember('9', `${usedAddress.host}:${usedAddress.port}`))).message).to.equal(
      `address ${usedAddress.host}:${usedAddress.port} is already the address of machine 2; every member needs its own`,
    );
    expect((await rejection(leader.addMember('9', `localhost:${usedAddress.port}`))).message).to.equal(
      `address localhost:${usedAddress.port} is already the address of machine 2 (${usedAddress.host}:${usedAddress.port}, written another way); every member needs its own`,
    );
    expect((await rejection(leader.addMember('2', '127.0.0.1:1'))).code).to.equal('INVALID_ARGUMENT');
    expect((await rejection(leader.removeMember('9'))).message).to.match(/^machine id 9 is not a member/);
    expect((await rejection(leader.addMember('9', '127.0.0.1:99999'))).code).to.equal('INVALID_ARGUMENT');
    // A machine that is not running is added as a learner but never promoted.
    const { address } = await cluster.startOutsider('5');
    await cluster.node('5').graft.stop();
    cluster.nodes.delete('5');
    const slow = leader.addMember('5', address);
    const busy = await rejection(leader.removeMember('3'));
    expect(busy.code).to.equal('CHANGE_IN_PROGRESS');
    expect(busy.message).to.equal('a membership change is in progress (adding 5); try again once it is done');
    expect((await rejection(slow)).code).to.equal('NOT_CAUGHT_UP');
    expect(leader.members().find((m) => m.id === '5')!.role).to.equal('learner');
    // The learner can be removed again.
    expect((await leader.removeMember('5')).map((m) => m.id)).to.deep.equal(['1', '2', '3']);
  });

  it('a one-voter cluster refuses to remove its last voter', async () => {
    cluster = await GraftCluster.create(1);
    const leader = cluster.node(await cluster.agreedLeader()).graft;
    expect((await rejection(leader.removeMember('1'))).message).to.equal('the change would leave no voter: a cluster needs at least one');
  });
});
