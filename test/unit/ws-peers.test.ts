import { expect } from 'chai';
import WebSocket from 'ws';
import type { PeerAddress } from '../../src/config.ts';
import type { NodeId } from '../../src/core/types.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import { encodeHello } from '../../src/transport/ws/hello.ts';
import { RAFT_PATH, WebSocketTransport } from '../../src/transport/ws/ws-transport.ts';
import { freePort } from '../helpers/ports.ts';
import { recordingLogger, type LogRecord } from '../helpers/recording-logger.ts';

/** One started transport, what it received and what it logged. */
interface Node {
  readonly id: NodeId;
  readonly transport: WebSocketTransport;
  readonly received: PeerMessage[];
  readonly logs: LogRecord[];
}

describe('transport: the peers of a WebSocketTransport change at runtime', () => {
  let addresses: Map<NodeId, PeerAddress>;
  const nodes: Node[] = [];

  beforeEach(async () => {
    addresses = new Map();
    for (const id of ['1', '2', '3', '5', '6']) addresses.set(id, { host: '127.0.0.1', port: await freePort() });
  });

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.transport.stop()));
  });

  /** Starts node `self` with the peers `peers`, calling setPeers first when `strangers` is given. */
  async function start(self: NodeId, peers: readonly NodeId[], strangers?: boolean, backoff = { initialMs: 20, maxMs: 80 }): Promise<Node> {
    const logger = recordingLogger();
    const logs = logger.records;
    const transport = new WebSocketTransport({ self, members: pick([self, ...peers]), logger, backoff });
    if (strangers !== undefined) transport.setPeers(pick(peers), strangers);
    const received: PeerMessage[] = [];
    await transport.start((message) => received.push(message));
    const node = { id: self, transport, received, logs };
    nodes.push(node);
    return node;
  }

  function pick(ids: readonly NodeId[]): Map<NodeId, PeerAddress> {
    return new Map(ids.map((id) => [id, addresses.get(id)!]));
  }

  /** Sends a TimeoutNow of `term` from `a` to `b`; true when it had a connection. */
  function ping(a: Node, b: Node, term = 1): boolean {
    return a.transport.send(b.id, [{ type: 'TimeoutNow', from: a.id, to: b.id, term }]);
  }

  /** The messages `b` received from `a`. */
  function from(a: Node, b: Node): PeerMessage[] {
    return b.received.filter((m) => m.from === a.id);
  }

  /** `a` sends to `b` until `b` receives one (a fresh connection may be open on one side a moment before the other). */
  async function exchange(a: Node, b: Node): Promise<void> {
    const before = from(a, b).length;
    await waitFor(() => {
      if (from(a, b).length > before) return true;
      ping(a, b);
      return false;
    }, `${b.id} receives from ${a.id}`);
    expect(from(a, b).at(-1)).to.deep.equal({ type: 'TimeoutNow', from: a.id, to: b.id, term: 1 });
  }

  function refusals(node: Node): string[] {
    return node.logs.filter((l) => l.level === 'warn' && l.message === 'refused a peer connection').map((l) => String(l.context['reason']));
  }

  it('connects to a peer added with setPeers, and both exchange messages', async () => {
    const one = await start('1', ['2']);
    const two = await start('2', ['1']);
    const three = await start('3', ['1', '2']);
    await exchange(one, two);
    await exchange(two, one);
    expect(ping(one, three), 'not a peer of 1 yet').to.equal(false);
    // 3 calls 1, and 1 refuses it until 3 is one of its peers.
    await waitFor(() => refusals(one).some((r) => r.includes('"3" is not a peer')), '1 refuses 3');
    ping(three, one);
    expect(from(three, one)).to.deep.equal([]);

    one.transport.setPeers(pick(['2', '3']), false);
    await exchange(one, three);
    await exchange(three, one);
    await exchange(one, two); // the old peer is kept
    expect(one.logs.some((l) => l.level === 'debug' && l.message.startsWith('peers changed') && String(l.context['added']) === '3')).to.equal(true);
  });

  it('a peer removed with setPeers is disconnected, both when this node dialed it and when it called', async () => {
    const one = await start('1', ['2']);
    const two = await start('2', ['1', '3']);
    const three = await start('3', ['2']);
    await exchange(one, two);
    await exchange(two, one);
    await exchange(two, three);
    await exchange(three, two);

    const fromThree = from(three, two).length;
    two.transport.setPeers(new Map(), false);
    expect(ping(two, one)).to.equal(false);
    expect(ping(two, three)).to.equal(false);
    expect(two.logs.some((l) => l.level === 'debug' && String(l.context['removed']) === '1,3')).to.equal(true);
    // 3 was dialed by 2, which stopped: 3 sees the connection close, and nobody calls again.
    await waitFor(() => !ping(three, two), '3 sees the connection to 2 close');
    // 1 still has 2 as a peer and calls again, and 2 refuses it; what 1 sends meanwhile never arrives.
    const delivered = from(one, two).length;
    await waitFor(() => {
      ping(one, two);
      return refusals(two).some((r) => r.includes('"1" is not a peer'));
    }, '2 refuses a new call from 1');
    await waitFor(() => one.logs.some((l) => l.message === 'peer 2 refused the connection'), '1 hears it was refused');
    expect(from(one, two).length).to.equal(delivered);
    expect(from(three, two).length).to.equal(fromThree);
    expect(ping(two, one)).to.equal(false);
  });

  it('a node that accepts strangers is called by an id it does not know and can answer it', async () => {
    const five = await start('5', [], true);
    const one = await start('1', ['5']);
    await exchange(one, five);
    await exchange(five, one);

    // Once it stops accepting strangers (it joined a configuration without 1), the stranger is dropped and refused.
    five.transport.setPeers(pick(['2']), false);
    expect(ping(five, one)).to.equal(false);
    await waitFor(() => refusals(five).some((r) => r.includes('"1" is not a peer')), '5 refuses 1 calling again');
  });

  it('a node that does not accept strangers refuses an id it does not know', async () => {
    const six = await start('6', [], false);
    const one = await start('1', ['6']);
    await waitFor(() => {
      ping(one, six);
      return one.logs.some((l) => l.message === 'peer 6 refused the connection');
    }, '6 refuses 1');
    expect(refusals(six).some((r) => r.includes('"1" is not a peer'))).to.equal(true);
    expect(six.received).to.deep.equal([]);
    expect(ping(six, one)).to.equal(false);
  });

  it('a hello from its own id is refused, even by a node that accepts strangers', async () => {
    const five = await start('5', [], true);
    const address = addresses.get('5')!;
    const socket = new WebSocket(`ws://${address.host}:${address.port}${RAFT_PATH}`);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.once('open', () => socket.send(encodeHello({ from: '5', to: '5' })));
    expect(await closed).to.equal(1008);
    expect(refusals(five).some((r) => r.includes('"5" is not a peer'))).to.equal(true);
  });

  it('a connection cut without a word (a crash, a network fault) is a warning, once', async () => {
    // Node 2 is played by a client that says hello and is then cut off.
    const one = await start('1', ['2'], undefined, { initialMs: 2000, maxMs: 5000 });
    const address = addresses.get('1')!;
    const socket = new WebSocket(`ws://${address.host}:${address.port}${RAFT_PATH}`);
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(encodeHello({ from: '2', to: '1' }));
    await waitFor(() => one.logs.some((l) => l.message === 'connected to 2'), '1 to take the connection');
    socket.terminate();
    await waitFor(() => one.logs.some((l) => l.level === 'warn' && l.message === 'lost the connection to peer 2; calling it again'), '1 warns');
  });

  it('two nodes that dial each other at once keep one connection, the one the smaller id dialed', async () => {
    const [one, two] = await Promise.all([start('1', ['2']), start('2', ['1'])]);
    await exchange(one, two);
    await exchange(two, one);
    const connections = (node: Node): number => node.logs.filter((l) => /^connected to/.test(l.message)).length;
    const settled = [connections(one), connections(two)];
    // Quiet for several backoff periods: no connection is opened and closed again and again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([connections(one), connections(two)]).to.deep.equal(settled);
    await exchange(one, two);
    await exchange(two, one);
  });

  it('a node that restarts calls its peers at once, however long their backoff, and they say it is back', async () => {
    // 1 calls again only after seconds: the restarted 2 must not wait for that.
    const one = await start('1', ['2'], undefined, { initialMs: 2000, maxMs: 5000 });
    let two = await start('2', ['1']);
    await exchange(one, two);
    await two.transport.stop();
    nodes.splice(nodes.indexOf(two), 1);
    // A clean stop says so: 1 logs it at info, not as a lost connection.
    await waitFor(() => one.logs.some((l) => l.level === 'info' && l.message === 'peer 2 is stopping; calling it again until it is back'), '1 notes the stop');
    // 1 has called once at once (woken by the loss), failed, and now waits a second or more.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const restarted = Date.now();
    two = await start('2', ['1']);
    await exchange(two, one);
    expect(Date.now() - restarted, 'ms until the restarted node is heard').to.be.below(80);
    await waitFor(() => one.logs.some((l) => l.level === 'info' && l.message === 'connected to peer 2 again'), '1 says 2 is back');
    expect(one.logs.filter((l) => l.level === 'warn')).to.deep.equal([]);
  });
});

/** Resolves once `condition` holds, checking every few milliseconds for up to 2 s. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
