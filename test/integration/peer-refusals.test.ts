import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { parseClusterConfig, type ClusterConfig } from '../../src/config.ts';
import { GraftInstance } from '../../src/graft.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { FRAME_VERSION } from '../../src/transport/codec.ts';
import { decodeChallenge, encodeAuth, encodeHello, newNonce, proof, type Hello } from '../../src/transport/ws/hello.ts';
import { RAFT_PATH } from '../../src/transport/ws/ws-transport.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';
import { waitUntil as waitFor } from '../helpers/processes.ts';
import { recordingLogger } from '../helpers/recording-logger.ts';

const SECRET = 'only-the-members-hold-this-secret';

/**
 * A live cluster with a secret, and who may not get in: a member restarted with a wrong secret, an
 * id outside the configuration, a recorded handshake played again. Each is refused; the cluster
 * keeps its term and leader and acknowledges writes meanwhile; and the member, given the right
 * secret again, rejoins and catches up.
 */
describe('integration: a cluster with a secret refuses whom it should, and stays healthy', function () {
  this.timeout(30_000);
  let cluster: GraftCluster;
  let dir: string;
  let leader: string;
  let victim: string;
  let term: number;
  let writes = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-refusals-'));
    writeFileSync(join(dir, 'cluster.secret'), `${SECRET}\n`);
    writeFileSync(join(dir, 'wrong.secret'), 'a-secret-of-the-same-length-but-wrong\n');
    cluster = await GraftCluster.create(3, { secretFile: join(dir, 'cluster.secret') });
    leader = await cluster.agreedLeader();
    victim = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    term = cluster.node(leader).graft.status().term;
  });

  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes through the leader, and checks every running member keeps the term and leader it had. */
  async function stillHealthy(): Promise<void> {
    const op = `write ${++writes}`;
    await cluster.node(leader).graft.applyOperation(op);
    const running = [...cluster.nodes.values()].filter((n) => n.graft.isRunning());
    await waitUntil(cluster.instances(), () => running.every((n) => n.applied.includes(op)), `every running member to apply ${op}`);
    for (const node of running) {
      const s = node.graft.status();
      expect([s.term, s.leader], `node ${s.id}'s term and leader`).to.deep.equal([term, leader]);
    }
  }

  it('a member restarted with a wrong secret is refused on every link; with the right one it rejoins and catches up', async () => {
    await stillHealthy();
    await cluster.node(victim).graft.stop();
    const logger = recordingLogger();
    const wrong = new GraftInstance<string, number>({
      config: withSecretFile(cluster.config, join(dir, 'wrong.secret')),
      machineId: victim,
      storage: cluster.node(victim).storage,
      logger,
      serializer: jsonSerializer<string>(),
      applicator: () => 0,
    });
    await wrong.start();
    try {
      await waitFor('the wrong secret to be refused', async () => logger.warnings.some((w) => /does not match the cluster secret/.test(w)));
      await stillHealthy();
      expect(wrong.status().commitIndex).to.be.below(cluster.node(leader).graft.status().commitIndex);
    } finally {
      await wrong.stop();
    }
    await cluster.restart(victim);
    await stillHealthy();
  });

  it('an id outside the configuration is refused, even with the secret, and so is a handshake played again', async () => {
    const { host, port } = cluster.config.members.get(victim)!;
    const url = `ws://${host}:${port}${RAFT_PATH}`;
    // A non-member id, knowing the secret: refused at the hello.
    const stranger = await open(url);
    const strangerClosed = closeOf(stranger);
    stranger.send(encodeHello({ from: '9', to: victim, nonce: newNonce() }));
    expect(await strangerClosed).to.deep.equal([1008, '"9" is not a peer in the configuration']);
    // A handshake done right by someone with the secret, recorded, then replayed on a new connection.
    const hello: Hello = { from: leader, to: victim, nonce: newNonce() };
    const first = await open(url);
    first.send(encodeHello(hello));
    const recorded = proof(SECRET, 'dialer', hello, decodeChallenge(await nextMessage(first)));
    first.terminate();
    const replay = await open(url);
    const replayClosed = closeOf(replay);
    replay.send(encodeHello(hello));
    await nextMessage(replay); // a new challenge, with a new nonce
    replay.send(encodeAuth(recorded));
    replay.send(JSON.stringify({ v: FRAME_VERSION, messages: [{ type: 'TimeoutNow', from: leader, to: victim, term: term + 5 }] }));
    const [code, reason] = await replayClosed;
    expect(code).to.equal(1008);
    expect(reason).to.match(/its proof does not match the cluster secret/);
    await stillHealthy();
  });
});

/** The configuration `config` with another secretFile. */
function withSecretFile(config: ClusterConfig, secretFile: string): ClusterConfig {
  const members = [...config.members].map(([id, a]) => `  ${id}: ${a.host}:${a.port}`).join('\n');
  return parseClusterConfig(
    `electionTimeout: ${config.electionTimeout}\nheartbeatInterval: ${config.heartbeatInterval}\nsecretFile: ${JSON.stringify(secretFile)}\nconfiguration:\n${members}\n`,
  );
}

function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  return new Promise((resolve, reject) => socket.once('open', () => resolve(socket)).once('error', reject));
}

function closeOf(socket: WebSocket): Promise<[number, string]> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve([code, reason.toString()])));
}

function nextMessage(socket: WebSocket): Promise<Buffer> {
  return new Promise((resolve) => socket.once('message', (data: Buffer) => resolve(data)));
}
