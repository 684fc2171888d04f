import { expect } from 'chai';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';

describe('integration: a 3-node cluster over real WebSockets', function () {
  this.timeout(60_000);
  let cluster: GraftCluster;

  beforeEach(async () => {
    cluster = await GraftCluster.create(3);
  });

  afterEach(async () => {
    await cluster.stop();
  });

  it('elects one leader, applies 1,000 operations in one order everywhere, survives losing the leader', async () => {
    const leader = await cluster.agreedLeader();
    const ids = [...cluster.nodes.keys()];

    // 1,000 operations, submitted concurrently through every node (followers forward to the leader).
    const ops = Array.from({ length: 1000 }, (_, i) => `op-${i}`);
    await Promise.all(ops.map((op, i) => cluster.node(ids[i % 3]!).graft.applyOperation(op)));
    await waitUntil(cluster.instances(), () => ids.every((id) => cluster.node(id).applied.length === 1000), 'all nodes to apply 1,000 operations');
    const order = cluster.node(leader).applied;
    expect([...order].sort()).to.deep.equal([...ops].sort());
    for (const id of ids) expect(cluster.node(id).applied, `node ${id}`).to.deep.equal(order);

    // The leader goes away: the other two elect a new one within a few election timeouts.
    await cluster.node(leader).graft.stop();
    const electionTimeout = cluster.config.electionTimeout;
    const survivors = ids.filter((id) => id !== leader);
    const newLeader = await cluster.agreedLeader(20 * electionTimeout);
    expect(survivors).to.include(newLeader);

    // Writes go on, through both survivors.
    const more = Array.from({ length: 100 }, (_, i) => `after-${i}`);
    await Promise.all(more.map((op, i) => cluster.node(survivors[i % 2]!).graft.applyOperation(op)));

    // The old leader comes back on its storage and catches up to the same history.
    await cluster.restart(leader);
    await waitUntil(cluster.instances(), () => ids.every((id) => cluster.node(id).applied.length === 1100), 'the old leader to catch up');
    const final = cluster.node(newLeader).applied;
    for (const id of ids) expect(cluster.node(id).applied, `node ${id}`).to.deep.equal(final);
    expect(final.slice(0, 1000)).to.deep.equal(order);
  });

  it("resolves each caller with its own node's applicator result", async () => {
    await cluster.agreedLeader();
    const results = await Promise.all([...cluster.nodes.values()].map((n, i) => n.graft.applyOperation(`r${i}`)));
    // The applicator returns the list length after the push: three distinct positions 1..3.
    expect([...results].sort()).to.deep.equal([1, 2, 3]);
  });

  it('rejects waiting callers with SHUTDOWN when the instance stops, and new calls at once', async () => {
    await cluster.agreedLeader();
    const follower = [...cluster.nodes.values()].find((n) => n.graft.status().role === 'Follower')!;
    await follower.graft.stop();
    const error = await follower.graft.applyOperation('late').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.have.property('code', 'SHUTDOWN');
  });
});
