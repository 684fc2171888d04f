import { expect } from 'chai';
import WebSocket from 'ws';
import { FRAME_VERSION } from '../../src/transport/codec.ts';
import { encodeHello, newNonce } from '../../src/transport/ws/hello.ts';
import { RAFT_PATH } from '../../src/transport/ws/ws-transport.ts';
import { tempSecretFile } from '../helpers/secret-file.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';

describe('integration: an outsider on /raft of a cluster with a secret changes nothing', function () {
  this.timeout(30_000);
  let cluster: GraftCluster;
  const secret = tempSecretFile();

  before(async () => {
    cluster = await GraftCluster.create(3, { secretFile: secret.path });
  });

  after(async () => {
    await cluster?.stop();
    secret.remove();
  });

  it("a forged RequestVote with a huge term and a forged AppendEntries move no node's term, log or leader", async () => {
    const leader = await cluster.agreedLeader();
    const graft = cluster.node(leader).graft;
    await graft.applyOperation('before');
    const before = [...cluster.nodes.values()].map((n) => n.graft.status());
    const follower = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    const { host, port } = cluster.config.members.get(follower)!;
    const forged = [
      { type: 'RequestVote', from: leader, to: follower, term: 2 ** 40, lastLogIndex: 10 ** 9, lastLogTerm: 2 ** 40, transfer: true },
      {
        type: 'AppendEntries',
        from: leader,
        to: follower,
        term: before[0]!.term,
        prevLogIndex: before[0]!.commitIndex,
        prevLogTerm: before[0]!.term,
        entries: [{ index: before[0]!.commitIndex + 1, term: before[0]!.term, kind: 'normal', data: '"pwned"' }],
        leaderCommit: before[0]!.commitIndex + 1,
        readRound: 0,
      },
    ];
    // Posing as the leader, twice: with no proof at all, and with a made-up one.
    for (const attempt of ['no proof', 'a made-up proof']) {
      const socket = new WebSocket(`ws://${host}:${port}${RAFT_PATH}`);
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
      socket.send(encodeHello(attempt === 'no proof' ? { from: leader, to: follower } : { from: leader, to: follower, nonce: newNonce() }));
      if (attempt !== 'no proof') socket.send(JSON.stringify({ v: FRAME_VERSION, auth: { proof: 'bm90IHRoZSBwcm9vZg==' } }));
      socket.send(JSON.stringify({ v: FRAME_VERSION, messages: forged }));
      expect(await closed, attempt).to.equal(1008);
    }
    await graft.applyOperation('after');
    await waitUntil(cluster.instances(), () => [...cluster.nodes.values()].every((n) => n.applied.includes('after')), 'every node applies the next write');
    for (const [i, node] of [...cluster.nodes.values()].entries()) {
      const now = node.graft.status();
      expect([now.term, now.leader], `node ${now.id}'s term and leader`).to.deep.equal([before[i]!.term, leader]);
      expect(node.applied, `node ${now.id}'s log`).to.deep.equal(['before', 'after']);
    }
  });
});
