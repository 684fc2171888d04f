import { expect } from 'chai';
import { decodeCommand } from '../../src/session/command.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';

describe('integration: client sessions survive restarts (thesis §6.3)', function () {
  this.timeout(60_000);
  let cluster: GraftCluster;

  afterEach(async () => {
    await cluster?.stop();
  });

  it('a late copy of an operation, reaching a new leader after every node restarted, is logged but not applied again', async () => {
    const network = new MemoryNetwork();
    cluster = await GraftCluster.create(3, { transport: (id) => network.transport(id) });
    const leader = await cluster.agreedLeader();
    const follower = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    await cluster.node(follower).graft.applyOperation('x');
    const { entries } = await cluster.node(follower).storage.load();
    const copy = entries.find((e) => e.kind === 'normal' && decodeCommand(e.data).kind === 'operation')!;

    // Every node forgets its state machine and rebuilds it, session table included, from its log.
    for (const id of cluster.nodes.keys()) await cluster.restart(id);
    const newLeader = await cluster.agreedLeader();
    // A request duplicated in the network arrives now from a follower; y follows it on the same link.
    const sender = [...cluster.nodes.keys()].find((id) => id !== newLeader)!;
    network.transport(sender).send(newLeader, [{ type: 'Forward', from: sender, to: newLeader, id: 424242, ops: [copy.data] }]);
    await cluster.node(sender).graft.applyOperation('y');
    const all = [...cluster.nodes.values()];
    await waitUntil(cluster.instances(), () => all.every((n) => n.applied.includes('y')), 'every node to apply y');

    const logged = (await cluster.node(newLeader).storage.load()).entries.filter((e) => e.data === copy.data);
    expect(logged, 'copies of the operation in the log').to.have.length(2);
    for (const [id, node] of cluster.nodes) expect(node.applied, `node ${id}`).to.deep.equal(['x', 'y']);
  });
});
