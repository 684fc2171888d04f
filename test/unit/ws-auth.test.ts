import { expect } from 'chai';
import WebSocket from 'ws';
import type { PeerAddress } from '../../src/config.ts';
import type { NodeId } from '../../src/core/types.ts';
import { FRAME_VERSION } from '../../src/transport/codec.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import { decodeChallenge, encodeAuth, encodeHello, newNonce, proof, type Hello } from '../../src/transport/ws/hello.ts';
import { RAFT_PATH, WebSocketTransport } from '../../src/transport/ws/ws-transport.ts';
import { freePort } from '../helpers/ports.ts';
import { recordingLogger } from '../helpers/recording-logger.ts';

const SECRET = 'correct horse battery staple';

/** One started transport, what it received and the warnings it logged. */
interface Node {
  readonly id: NodeId;
  readonly transport: WebSocketTransport;
  readonly received: PeerMessage[];
  readonly warnings: string[];
}

describe('transport: peers prove they know the cluster secret before any message passes', () => {
  let addresses: Map<NodeId, PeerAddress>;
  const nodes: Node[] = [];

  beforeEach(async () => {
    addresses = new Map();
    for (const id of ['1', '2']) addresses.set(id, { host: '127.0.0.1', port: await freePort() });
  });

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.transport.stop()));
  });

  async function start(self: NodeId, secret: string | undefined, cluster?: string): Promise<Node> {
    const logger = recordingLogger();
    const warnings = logger.warnings;
    const transport = new WebSocketTransport({
      self,
      members: addresses,
      logger,
      backoff: { initialMs: 20, maxMs: 80 },
      ...(secret === undefined ? {} : { secret }),
      ...(cluster === undefined ? {} : { cluster }),
    });
    const received: PeerMessage[] = [];
    await transport.start((message) => received.push(message));
    const node = { id: self, transport, received, warnings };
    nodes.push(node);
    return node;
  }

  const timeoutNow = (from: NodeId, to: NodeId): PeerMessage => ({ type: 'TimeoutNow', from, to, term: 1 });

  /** Both try to send for a while; neither receives anything. */
  async function expectNothingPasses(one: Node, two: Node): Promise<void> {
    for (let i = 0; i < 20; i++) {
      one.transport.send('2', [timeoutNow('1', '2')]);
      two.transport.send('1', [timeoutNow('2', '1')]);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect([one.received, two.received]).to.deep.equal([[], []]);
  }

  it('two nodes with the same secret connect and exchange messages both ways', async () => {
    const [one, two] = await Promise.all([start('1', SECRET), start('2', SECRET)]);
    await waitFor(() => one.transport.send('2', [timeoutNow('1', '2')]) && two.received.length > 0, '2 hears 1');
    await waitFor(() => two.transport.send('1', [timeoutNow('2', '1')]) && one.received.length > 0, '1 hears 2');
    expect([...one.warnings, ...two.warnings]).to.deep.equal([]);
  });

  for (const [what, secretOfTwo, reason] of [
    ['a wrong secret', 'another secret, just as long', /failed the handshake|does not match the cluster secret/],
    ['no secret', undefined, /has no cluster secret, and this cluster requires one|has a cluster secret, and this node has none/],
  ] as const) {
    it(`a node with ${what} never gets a message through, and the refusal says why`, async () => {
      const [one, two] = await Promise.all([start('1', SECRET), start('2', secretOfTwo)]);
      await waitFor(() => [...one.warnings, ...two.warnings].some((w) => reason.test(w)), 'a refusal that says why');
      await expectNothingPasses(one, two);
    });
  }

  for (const secret of [SECRET, undefined]) {
    it(`a peer of another cluster is refused, naming both clusters (${secret === undefined ? 'no secret' : 'with a secret'})`, async () => {
      const [one, two] = await Promise.all([start('1', secret, 'blue'), start('2', secret, 'green')]);
      const refusal = /belongs to cluster (blue|green), and this node to cluster (green|blue)/;
      await waitFor(() => [...one.warnings, ...two.warnings].some((w) => refusal.test(w)), 'a refusal naming both clusters');
      await expectNothingPasses(one, two);
    });
  }

  it('a node that does not know its cluster yet (a new member) connects to one that does, and learns it later', async () => {
    const [one, two] = await Promise.all([start('1', SECRET, 'blue'), start('2', SECRET)]);
    await waitFor(() => one.transport.send('2', [timeoutNow('1', '2')]) && two.received.length > 0, '2 hears 1');
    two.transport.setCluster('blue');
    await waitFor(() => two.transport.send('1', [timeoutNow('2', '1')]) && one.received.length > 0, '1 hears 2');
    expect([...one.warnings, ...two.warnings]).to.deep.equal([]);
  });

  it('a handshake recorded on one connection is refused on the next: the called node picks a new nonce each time', async () => {
    const two = await start('2', SECRET);
    const hello: Hello = { from: '1', to: '2', nonce: newNonce() };
    // First, the handshake done right, by a client that knows the secret: accepted.
    const first = await open(addresses.get('2')!);
    first.send(encodeHello(hello));
    const challenge = decodeChallenge(await nextMessage(first));
    const recorded = proof(SECRET, 'dialer', hello, challenge);
    first.send(encodeAuth(recorded));
    first.send(JSON.stringify({ v: FRAME_VERSION, messages: [timeoutNow('1', '2')] }));
    await waitFor(() => two.received.length === 1, '2 receives from the client that knew the secret');
    first.close();
    // Then the same hello and the recorded proof, replayed on a new connection: refused.
    const replay = await open(addresses.get('2')!);
    const closed = new Promise<number>((resolve) => replay.once('close', (code) => resolve(code)));
    replay.send(encodeHello(hello));
    expect(decodeChallenge(await nextMessage(replay)).nonce).to.not.equal(challenge.nonce);
    replay.send(encodeAuth(recorded));
    replay.send(JSON.stringify({ v: FRAME_VERSION, messages: [timeoutNow('1', '2')] }));
    expect(await closed).to.equal(1008);
    expect(two.received).to.have.length(1);
    expect(two.warnings.some((w) => w.includes('its proof does not match the cluster secret'))).to.equal(true);
  });

  it('an outsider that skips the proof and sends Raft messages gets none of them through', async () => {
    const two = await start('2', SECRET);
    const outsider = await open(addresses.get('2')!);
    const closed = new Promise<number>((resolve) => outsider.once('close', (code) => resolve(code)));
    outsider.send(encodeHello({ from: '1', to: '2', nonce: newNonce() }));
    await nextMessage(outsider); // the challenge it cannot answer
    outsider.send(
      JSON.stringify({
        v: FRAME_VERSION,
        messages: [{ type: 'RequestVote', from: '1', to: '2', term: 2 ** 40, lastLogIndex: 10 ** 9, lastLogTerm: 2 ** 40, transfer: true }],
      }),
    );
    expect(await closed).to.equal(1008);
    expect(two.received).to.deep.equal([]);
  });
});

function open(address: PeerAddress): Promise<WebSocket> {
  const socket = new WebSocket(`ws://${address.host}:${address.port}${RAFT_PATH}`);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function nextMessage(socket: WebSocket): Promise<Buffer> {
  return new Promise((resolve) => socket.once('message', (data: Buffer) => resolve(data)));
}

/** Resolves once `condition` holds, checking every few milliseconds for up to 2 s. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
