import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startKvNode, type KvNode } from '../../src/cli/apps/kvstore/node.ts';
import { formatAddress, loadClusterConfig, type ClusterConfig, type TlsConfig } from '../../src/config.ts';
import type { PeerAddress } from '../../src/config.ts';
import { GraftInstance } from '../../src/graft.ts';
import type { Logger } from '../../src/logger.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { Dialer } from '../../src/transport/ws/dialer.ts';
import type { TlsIdentity } from '../../src/transport/ws/tls.ts';
import { RAFT_PATH, WebSocketTransport } from '../../src/transport/ws/ws-transport.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';
import { freePort } from '../helpers/ports.ts';
import { logArguments, type LogArgs } from '../helpers/recording-logger.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const file = (name: string): string => join(FIXTURES, name);
const pem = (name: string): string => readFileSync(file(name), 'utf8');
/** The nodes' files, as cluster.yaml's `tls` names them. */
const NODE_FILES = { cert: file('node.pem'), key: file('node-key.pem'), ca: file('ca.pem') };
const identity = (cert: string, key: string, ca: string): TlsIdentity => ({ cert: pem(cert), key: pem(key), ca: pem(ca) });
const NODE = identity('node.pem', 'node-key.pem', 'ca.pem');
const CLIENT = identity('client.pem', 'client-key.pem', 'ca.pem');
/** A certificate of another CA, presented to the cluster, whose CA it trusts. */
const OTHER_CERT = identity('other-node.pem', 'other-node-key.pem', 'ca.pem');
/** Everything of another CA: its certificate, and that CA as the one to trust. */
const OTHER_CA = identity('other-node.pem', 'other-node-key.pem', 'other-ca.pem');

/** A logger that keeps its warnings and debug lines, and lets a test await them. */
class Recorder {
  /** Warnings and debug lines, with their context as JSON, in order. */
  readonly lines: string[] = [];
  private waiters: { pattern: RegExp; times: number; resolve: () => void }[] = [];
  private readonly record = (...args: LogArgs): void => {
    const { message, context } = logArguments(args);
    this.lines.push(`${message} ${JSON.stringify(context)}`);
    const done = this.waiters.filter((w) => this.count(w.pattern) >= w.times);
    this.waiters = this.waiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve();
  };
  readonly logger: Logger = { debug: this.record, info: () => {}, warn: this.record, error: () => {}, child: () => this.logger };

  /** Resolves once `times` lines (past or future) match `pattern`. */
  warned(pattern: RegExp, times = 1, timeoutMs = 10_000): Promise<void> {
    if (this.count(pattern) >= times) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`not ${times} line(s) matching ${pattern} within ${timeoutMs} ms; it logged:\n${this.lines.join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({
        pattern,
        times,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  count(pattern: RegExp): number {
    return this.lines.filter((w) => pattern.test(w)).length;
  }
}

/** How a connection attempt to `/raft` ended: it opened, or failed with this code. */
function tryRaft(url: string, tls?: Partial<TlsIdentity>): Promise<{ opened: boolean; code: string | undefined }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: 5000, ...tls });
    ws.once('open', () => {
      ws.terminate();
      resolve({ opened: true, code: undefined });
    });
    ws.once('error', (error: NodeJS.ErrnoException) => resolve({ opened: false, code: error.code }));
  });
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One JSON request over HTTPS presenting `tls` (or over plain HTTP with `plain`); rejects with the error of a refused connection. */
function call(
  address: PeerAddress,
  method: string,
  path: string,
  options: { tls?: Partial<TlsIdentity>; body?: unknown; plain?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const init = {
      host: address.host,
      port: address.port,
      method,
      path,
      agent: false as const,
      timeout: 5000,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
    };
    const req = options.plain === true ? plainRequest(init) : request({ ...init, ...options.tls });
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> }));
    });
    req.end(payload);
  });
}

/** The error code a request fails with; fails the test if it is answered. */
async function refusal(promise: Promise<Answer>): Promise<string | undefined> {
  try {
    const answer = await promise;
    throw new Error(`expected a refusal, got HTTP ${answer.status}`);
  } catch (error) {
    if ((error as Error).message.startsWith('expected a refusal')) throw error;
    return (error as NodeJS.ErrnoException).code;
  }
}

describe('integration: TLS between peers (each GraftInstance on its own HTTPS server)', function () {
  this.timeout(30_000);
  let cluster: GraftCluster;
  const recorders = new Map<string, Recorder>();
  const url = (scheme: 'ws' | 'wss', id: string): string => `${scheme}://${formatAddress(cluster.config.members.get(id)!)}${RAFT_PATH}`;

  before(async () => {
    cluster = await GraftCluster.create(3, {
      tls: NODE_FILES,
      logger: (id) => {
        const recorder = recorders.get(id) ?? new Recorder();
        recorders.set(id, recorder);
        return recorder.logger;
      },
    });
  });
  after(async () => {
    await cluster?.stop();
  });

  /** The leader's id and term, once every running node agrees on it. */
  async function leaderAndTerm(): Promise<{ leader: string; term: number }> {
    const leader = await cluster.agreedLeader();
    return { leader, term: cluster.node(leader).graft.status().term };
  }

  /** A write through the leader, acknowledged, and applied on every running node. */
  async function writeThrough(leader: string, op: string): Promise<void> {
    await cluster.node(leader).graft.applyOperation(op);
    const running = [...cluster.nodes.values()].filter((n) => n.graft.isRunning());
    await waitUntil(cluster.instances(), () => running.every((n) => n.applied.includes(op)), `every running node applies ${op}`);
  }

  it('a 3-node cluster with tls elects a leader and acknowledges writes, over wss://', async () => {
    const { leader } = await leaderAndTerm();
    await writeThrough(leader, 'first');
    for (const node of cluster.nodes.values()) expect(node.applied).to.deep.equal(['first']);
  });

  it('refuses a plain ws:// client, one without a certificate and one with a certificate of another CA, at TLS level; the cluster goes on', async () => {
    const { leader, term } = await leaderAndTerm();
    const target = recorders.get(leader)!;
    const plain = await tryRaft(url('ws', leader));
    expect(plain.opened, 'a plain ws:// client').to.equal(false);
    await target.warned(/refused a TLS connection .*reason":"it does not speak TLS.*"remote":"127\.0\.0\.1:\d+"/);

    const anonymous = await tryRaft(url('wss', leader), { ca: NODE.ca });
    expect(anonymous).to.deep.equal({ opened: false, code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });

    const stranger = await tryRaft(url('wss', leader), OTHER_CERT);
    expect(stranger.opened, 'a certificate of another CA').to.equal(false);
    await target.warned(
      /refused a TLS connection .*reason":"its certificate is not trusted: certificate signed by an unknown CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\).*"remote":"127\.0\.0\.1:\d+"/,
    );

    // The control: the same call with a certificate of the cluster CA gets through TLS to /raft.
    expect(await tryRaft(url('wss', leader), CLIENT)).to.deep.equal({ opened: true, code: undefined });

    await writeThrough(leader, 'after strangers');
    expect((await leaderAndTerm()).term).to.equal(term);
  });

  it('a member whose certificate is of another CA takes no part; the same member with the cluster CA rejoins', async () => {
    const { leader, term } = await leaderAndTerm();
    const member = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    await cluster.node(member).graft.stop();
    const others = [...cluster.nodes.keys()].filter((id) => id !== member);

    for (const [name, tls] of [
      ['a certificate of another CA', OTHER_CERT],
      ['another CA altogether', OTHER_CA],
    ] as const) {
      const recorder = new Recorder();
      const applied: string[] = [];
      const impostor = new GraftInstance<string, number>({
        config: { ...cluster.config, tls: { ...(cluster.config.tls as TlsConfig), ...tls } },
        machineId: member,
        storage: new MemoryStorage(),
        logger: recorder.logger,
        serializer: jsonSerializer<string>(),
        applicator: (op) => applied.push(op),
      });
      await impostor.start();
      try {
        // It calls each of the others, and fails for TLS: said once, then again and again (debug).
        for (const id of others) {
          await recorder.warned(
            new RegExp(
              `TLS handshake with peer ${id} failed: ${name === 'another CA altogether' ? 'its certificate is not trusted' : 'it closed the connection after the TLS handshake'}`,
            ),
          );
          await recorder.warned(new RegExp(`connection to ${id} failed`), 3);
        }
        await writeThrough(leader, `while ${name} knocks`);
        expect(applied, `${name} received nothing`).to.deep.equal([]);
        expect(impostor.status().leader).to.equal(null);
        for (const id of others) expect(cluster.node(id).graft.status().term, `term of ${id}`).to.equal(term);
      } finally {
        await impostor.stop();
      }
    }

    // The same member, with the cluster's certificate, catches up with what it missed.
    await cluster.restart(member);
    await waitUntil(cluster.instances(), () => cluster.node(member).applied.includes('while another CA altogether knocks'), 'the member catching up');
    await writeThrough((await leaderAndTerm()).leader, 'all three again');
    expect((await leaderAndTerm()).term).to.equal(term);
  });

  it("a dialer checks the peer's certificate names the host it dialed", async () => {
    const addresses = new Map<string, PeerAddress>([
      ['1', { host: '127.0.0.1', port: await freePort() }],
      ['2', { host: '127.0.0.1', port: await freePort() }],
    ]);
    const server = new WebSocketTransport({ self: '2', members: addresses, tls: identity('wrong-name.pem', 'wrong-name-key.pem', 'ca.pem') });
    await server.start(() => {});
    const recorder = new Recorder();
    let opened = 0;
    const dialer = new Dialer({
      self: '1',
      peer: '2',
      url: `wss://${formatAddress(addresses.get('2')!)}${RAFT_PATH}`,
      maxPayload: 1 << 20,
      backoff: { initialMs: 20, maxMs: 80 },
      logger: recorder.logger,
      onOpen: () => opened++,
      tls: NODE,
    });
    try {
      dialer.start();
      await recorder.warned(
        /TLS handshake with peer 2 failed: its certificate is not trusted: certificate does not name this host \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
      );
      expect(opened).to.equal(0);
    } finally {
      dialer.stop();
      await server.stop();
    }
  });
});

describe('integration: a TLS cluster of kvstore nodes, peers and clients on one HTTPS port', function () {
  this.timeout(30_000);
  let dir: string;
  let config: ClusterConfig;
  const nodes = new Map<string, KvNode>();
  const recorders = new Map<string, Recorder>();
  const at = (id: string): PeerAddress => config.members.get(id)!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-tls-kv-'));
    const lines: string[] = [];
    for (let i = 1; i <= 3; i++) lines.push(`  ${i}: 127.0.0.1:${await freePort()}`);
    const path = join(dir, 'cluster.yaml');
    writeFileSync(
      path,
      `electionTimeout: 150\nconfiguration:\n${lines.join('\n')}\ntls:\n  cert: ${NODE_FILES.cert}\n  key: ${NODE_FILES.key}\n  ca: ${NODE_FILES.ca}\n`,
    );
    config = loadClusterConfig(path);
    for (const id of config.members.keys()) {
      const recorder = new Recorder();
      recorders.set(id, recorder);
      nodes.set(id, await startKvNode({ config, id, logger: recorder.logger }));
    }
  });
  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function leaderAndTerm(): Promise<{ leader: string; term: number }> {
    const instances = [...nodes.values()].map((n) => n.store.graft as unknown as GraftInstance<string, unknown>);
    let leader: string | null = null;
    await waitUntil(
      instances,
      () => {
        const views = [...nodes.values()].map((n) => n.store.graft.status().leader);
        leader = views[0] ?? null;
        return leader !== null && views.every((v) => v === leader) && nodes.get(leader)!.store.graft.status().role === 'Leader';
      },
      'an agreed leader',
    );
    return { leader: leader!, term: nodes.get(leader!)!.store.graft.status().term };
  }

  it('elects a leader; a client with a certificate of the CA writes on one node and reads on another, over https', async () => {
    const { leader } = await leaderAndTerm();
    const follower = [...nodes.keys()].find((id) => id !== leader)!;
    const put = await call(at(follower), 'PUT', '/kv/greeting', { tls: CLIENT, body: 'hello' });
    expect(put.status).to.equal(200);
    expect(put.body['index']).to.be.a('number');
    const get = await call(at(leader), 'GET', '/kv/greeting', { tls: CLIENT });
    expect(get).to.deep.equal({ status: 200, body: { value: 'hello' } });
  });

  it('refuses a client without a certificate, with one of another CA, and plain HTTP; the cluster stays healthy', async () => {
    const { leader, term } = await leaderAndTerm();
    const target = at(leader);
    expect(await refusal(call(target, 'GET', '/status', { tls: { ca: CLIENT.ca } }))).to.equal('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    // A node closes the connection on a certificate it does not trust, once the handshake is done, without saying why.
    expect(await refusal(call(target, 'PUT', '/kv/greeting', { tls: OTHER_CERT, body: 'evil' }))).to.equal('ECONNRESET');
    await recorders.get(leader)!.warned(/refused a TLS connection .*reason":"its certificate is not trusted: certificate signed by an unknown CA/);
    expect(await refusal(call(target, 'PUT', '/kv/greeting', { plain: true, body: 'evil' }))).to.equal('ECONNRESET');
    await recorders.get(leader)!.warned(/refused a TLS connection .*reason":"it does not speak TLS/);
    // And a client that does not trust the node (it has the other CA) does not send its request at all.
    expect(await refusal(call(target, 'GET', '/status', { tls: identity('client.pem', 'client-key.pem', 'other-ca.pem') }))).to.match(
      /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/,
    );

    // Nothing the refused clients sent was written.
    expect(await call(target, 'GET', '/kv/greeting', { tls: CLIENT })).to.deep.equal({ status: 200, body: { value: 'hello' } });
    const put = await call(target, 'PUT', '/kv/greeting', { tls: CLIENT, body: 'still here' });
    expect(put.status).to.equal(200);
    expect(await call(target, 'GET', '/kv/greeting', { tls: CLIENT })).to.deep.equal({ status: 200, body: { value: 'still here' } });
    expect((await leaderAndTerm()).term).to.equal(term);
  });

  it('refuses peer connections to /raft of another CA, or plain ws://, on the shared port', async () => {
    const { leader, term } = await leaderAndTerm();
    const base = formatAddress(at(leader));
    expect((await tryRaft(`ws://${base}${RAFT_PATH}`)).opened).to.equal(false);
    expect((await tryRaft(`wss://${base}${RAFT_PATH}`, OTHER_CERT)).opened).to.equal(false);
    expect((await tryRaft(`wss://${base}${RAFT_PATH}`, OTHER_CA)).opened).to.equal(false);
    expect(await tryRaft(`wss://${base}${RAFT_PATH}`, CLIENT)).to.deep.equal({ opened: true, code: undefined });
    expect((await call(at(leader), 'PUT', '/kv/after', { tls: CLIENT, body: 1 })).status).to.equal(200);
    expect((await leaderAndTerm()).term).to.equal(term);
  });
});
