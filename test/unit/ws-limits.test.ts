import { expect } from 'chai';
import WebSocket from 'ws';
import type { PeerAddress } from '../../src/config.ts';
import type { NodeId } from '../../src/core/types.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import { decodeChallenge, encodeAuth, encodeHello, newNonce, proof } from '../../src/transport/ws/hello.ts';
import { RAFT_PATH, WebSocketTransport } from '../../src/transport/ws/ws-transport.ts';
import { freePort } from '../helpers/ports.ts';
import { recordingLogger } from '../helpers/recording-logger.ts';

const SECRET = 'correct horse battery staple';

describe('transport: connections that have not finished their handshake are bounded', () => {
  const transports: WebSocketTransport[] = [];
  const sockets: WebSocket[] = [];
  let addresses: Map<NodeId, PeerAddress>;

  beforeEach(async () => {
    addresses = new Map();
    for (const id of ['1', '2']) addresses.set(id, { host: '127.0.0.1', port: await freePort() });
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await Promise.all(transports.splice(0).map((t) => t.stop()));
  });

  async function start(self: NodeId, logger = recordingLogger()): Promise<{ transport: WebSocketTransport; received: PeerMessage[] }> {
    const transport = new WebSocketTransport({
      self,
      members: addresses,
      logger,
      secret: SECRET,
      backoff: { initialMs: 20, maxMs: 80 },
      handshakeLimits: { pendingPerHost: 3, bytes: 4096 },
    });
    const received: PeerMessage[] = [];
    await transport.start((message) => received.push(message));
    transports.push(transport);
    return { transport, received };
  }

  /** Opens a connection to /raft of `id` and says nothing; resolves with the socket once open, or with the refusal. */
  function connect(id: NodeId): Promise<WebSocket | string> {
    const { host, port } = addresses.get(id)!;
    const socket = new WebSocket(`ws://${host}:${port}${RAFT_PATH}`);
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
      socket.once('error', (error) => resolve(error.message));
    });
  }

  const timeoutNow = (from: NodeId, to: NodeId): PeerMessage => ({ type: 'TimeoutNow', from, to, term: 1 });

  it('refuses a connection beyond the limit from one host, keeps the peers talking, and admits again once one is gone', async () => {
    const logger = recordingLogger();
    const [one, two] = await Promise.all([start('1'), start('2', logger)]);
    await waitFor(() => one.transport.send('2', [timeoutNow('1', '2')]) && two.received.length > 0, 'the peers to connect');
    const idle = await Promise.all([connect('2'), connect('2'), connect('2')]);
    expect(idle.every((s) => s instanceof WebSocket)).to.equal(true);
    expect(await connect('2')).to.equal('HTTP 503');
    expect(logger.warnings.some((w) => w.includes('too many connections in their handshake from 127.0.0.1'))).to.equal(true);
    // The peers' connection is not in its handshake: untouched.
    const before = two.received.length;
    await waitFor(() => one.transport.send('2', [timeoutNow('1', '2')]) && two.received.length > before, 'the peers to go on talking');
    const gone = idle[0] as WebSocket;
    const closed = new Promise((resolve) => gone.once('close', resolve));
    gone.terminate();
    await closed;
    await waitFor(async () => (await connect('2')) instanceof WebSocket, 'a connection to be admitted again');
  });

  it('drops a connection that sends more than the limit before finishing its handshake', async () => {
    const logger = recordingLogger();
    await start('2', logger);
    const socket = await connect('2');
    if (!(socket instanceof WebSocket)) throw new Error(`refused: ${socket}`);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    // One frame far over the limit: the node hangs up while it is still arriving, before it could parse it.
    socket.send(Buffer.alloc(1024 * 1024, 'x'));
    expect(await closed).to.equal(1006);
    expect(logger.warnings.some((w) => w.includes('it sent too much before finishing its handshake'))).to.equal(true);
  });

  it('a second authenticated connection for a peer replaces the first only with a note in the log (a restart whose old connection has not closed yet)', async () => {
    const logger = recordingLogger();
    const infos = logger.infos;
    const [one, two] = await Promise.all([start('1'), start('2', logger)]);
    await waitFor(() => one.transport.send('2', [timeoutNow('1', '2')]) && two.received.length > 0, 'the peers to connect');
    const socket = await connect('2');
    if (!(socket instanceof WebSocket)) throw new Error(`refused: ${socket}`);
    const hello = { from: '1', to: '2', nonce: newNonce() };
    socket.send(encodeHello(hello));
    const challenge = decodeChallenge(await new Promise<Buffer>((resolve) => socket.once('message', resolve)));
    socket.send(encodeAuth(proof(SECRET, 'dialer', hello, challenge)));
    await waitFor(() => infos.includes('peer 1 connected again; its older connection is closed'), 'the replacement to be logged');
    // The real 1, its connection closed, calls again: and that too is said.
    await waitFor(
      () => infos.filter((m) => m === 'peer 1 connected again; its older connection is closed').length === 2,
      'the real peer to take its place back',
    );
    const before = two.received.length;
    await waitFor(() => one.transport.send('2', [timeoutNow('1', '2')]) && two.received.length > before, 'the peers to talk again');
  });
});

/** Resolves once `condition` holds, checking every few milliseconds for up to 3 s. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await condition())) {
    if (Date.now() > deadline) expect.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
