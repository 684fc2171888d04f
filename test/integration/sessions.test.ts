import { expect } from 'chai';
import type { Entry } from '../../src/core/types.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';

describe('integration: client sessions survive restarts (thesis §6.3)', function () {
  this.timeout(60_000);
  let network: MemoryNetwork;
  let cluster: GraftCluster;

  /** A cluster that applied one operation, 'x', sent by a follower; returns the log entry that carries it. */
  async function appliedX(): Promise<Entry> {
    network = new MemoryNetwork();
    cluster = await GraftCluster.create(3, { transport: (id) => network.transport(id) });
    const leader = await cluster.agreedLeader();
    const follower = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    await cluster.node(follower).graft.applyOperation('x');
    const { entries } = await cluster.node(follower).storage.load();
    return entries.find((e) => e.kind === 'normal' && e.stamp !== undefined)!;
  }

  /** Restarts every node: each rebuilds its state machine, session table included, from its log. */
  async function restartAll(): Promise<string> {
    for (const id of cluster.nodes.keys()) await cluster.restart(id);
    return cluster.agreedLeader();
  }

  afterEach(async () => {
    await cluster?.stop();
  });

  it('a leader that restarted still knows an operation was applied and drops a late copy of it', async () => {
    const x = await appliedX();
    const leader = await restartAll();
    // A request duplicated in the network arrives now from a follower; y follows it on the same link.
    const sender = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    network
      .transport(sender)
      .send(leader, [{ type: 'Forward', from: sender, to: leader, id: 424242, commands: [{ kind: 'normal', data: x.data, stamp: x.stamp! }] }]);
    await cluster.node(sender).graft.applyOperation('y');
    await waitUntil(cluster.instances(), () => [...cluster.nodes.values()].every((n) => n.applied.includes('y')), 'every node to apply y');

    const logged = (await cluster.node(leader).storage.load()).entries.filter((e) => e.data === x.data);
    expect(logged, 'copies of x in the log').to.have.length(1);
    for (const [id, node] of cluster.nodes) expect(node.applied, `node ${id}`).to.deep.equal(['x', 'y']);
  });

  it('a copy that reached the log is skipped when the log is applied again after a restart', async () => {
    const x = await appliedX();
    // A copy sits after the first one in every node's log, as a retry across a leader change leaves it.
    await cluster.stop();
    for (const node of cluster.nodes.values()) {
      const { entries } = await node.storage.load();
      const last = entries[entries.length - 1]!;
      await node.storage.append([{ ...x, index: last.index + 1, term: last.term }]);
    }
    const leader = await restartAll();
    await cluster.node(leader).graft.applyOperation('y');
    await waitUntil(cluster.instances(), () => [...cluster.nodes.values()].every((n) => n.applied.includes('y')), 'every node to apply y');
    for (const [id, node] of cluster.nodes) {
      expect(
        (await node.storage.load()).entries.filter((e) => e.data === x.data),
        `copies of x in node ${id}'s log`,
      ).to.have.length(2);
      expect(node.applied, `node ${id}`).to.deep.equal(['x', 'y']);
    }
  });
});
