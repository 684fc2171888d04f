import { FRAME_VERSION } from '../../src/transport/codec.ts';
import { expect } from 'chai';
import WebSocket from 'ws';
import { KvCluster } from '../helpers/kv-cluster.ts';

/** Resolves with how the server closed `ws`. */
function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

describe('integration: hostile input never takes a node down', function () {
  this.timeout(60_000);
  let cluster: KvCluster;
  let rawSocket: (id: string) => Promise<WebSocket>;

  before(async () => {
    cluster = await KvCluster.create();
    await cluster.leader();
    rawSocket = async (id) => {
      const a = cluster.config.members.get(id)!;
      const ws = new WebSocket(`ws://${a.host}:${a.port}/raft`);
      ws.on('error', () => {});
      await opened(ws);
      return ws;
    };
  });

  after(async () => {
    await cluster.stop();
  });

  /** After every attack: a write through each node succeeds, and is read back everywhere. */
  async function stillServes(key: string): Promise<void> {
    for (const id of cluster.nodes.keys()) {
      const put = await fetch(cluster.url(id, `/kv/${key}-${id}`), {
        method: 'PUT',
        body: JSON.stringify({ from: id }),
        headers: { 'content-type': 'application/json' },
      });
      expect(put.status, `PUT through node ${id}`).to.equal(200);
    }
    for (const id of cluster.nodes.keys()) {
      const get = await fetch(cluster.url(id, `/kv/${key}-1`));
      expect(await get.json()).to.deep.equal({ value: { from: '1' } });
    }
  }

  const attacks: [string, (ws: WebSocket) => void, number][] = [
    ['garbage bytes instead of a hello', (ws) => ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef])), 1008],
    ['a valid frame without a hello', (ws) => ws.send(JSON.stringify({ v: FRAME_VERSION, messages: [] })), 1008],
    ['a hello from a machine that is not a member', (ws) => ws.send(JSON.stringify({ v: FRAME_VERSION, hello: { from: '0', to: '3' } })), 1008],
    ['a hello that claims to come from the node it calls', (ws) => ws.send(JSON.stringify({ v: FRAME_VERSION, hello: { from: '3', to: '3' } })), 1008],
  ];
  for (const [what, attack, code] of attacks) {
    it(`closes the connection on ${what}`, async () => {
      const ws = await rawSocket('3');
      const done = closed(ws);
      attack(ws);
      expect((await done).code).to.equal(code);
      await stillServes(what.split(' ')[0]!);
    });
  }

  const afterHello: [string, (ws: WebSocket) => void, number][] = [
    ['garbage after the hello', (ws) => ws.send('\u0000\u0001 not json'), 1008],
    ['a truncated frame', (ws) => ws.send('{"v":1,"messages":[{"type":"RequestVote","from":"1"'), 1008],
    ['a message of an unknown type', (ws) => ws.send(JSON.stringify({ v: FRAME_VERSION, messages: [{ type: 'Explode', from: '1', to: '3' }] })), 1008],
    [
      'a message with a negative term',
      (ws) =>
        ws.send(
          JSON.stringify({
            v: FRAME_VERSION,
            messages: [{ type: 'RequestVote', from: '1', to: '3', term: -1, lastLogIndex: 0, lastLogTerm: 0, transfer: false }],
          }),
        ),
      1008,
    ],
    [
      'a message whose sender is not the one that said hello',
      (ws) => ws.send(JSON.stringify({ v: FRAME_VERSION, messages: [{ type: 'RequestVoteResponse', from: '2', to: '3', term: 1, granted: true }] })),
      1008,
    ],
    [
      'a forwarded command with a malformed session stamp',
      (ws) =>
        ws.send(
          JSON.stringify({
            v: FRAME_VERSION,
            messages: [
              { type: 'Forward', from: '1', to: '3', id: 5, commands: [{ kind: 'normal', data: '{}', stamp: { session: 'x', seq: 1, lowestOutstanding: 1 } }] },
            ],
          }),
        ),
      1008,
    ],
    ['an oversized frame', (ws) => ws.send(Buffer.alloc(17 * 1024 * 1024, 0x20)), 1009],
  ];
  for (const [what, attack, code] of afterHello) {
    it(`closes a member's connection on ${what}, and the member reconnects`, async () => {
      const ws = await rawSocket('3');
      const done = closed(ws);
      ws.send(JSON.stringify({ v: FRAME_VERSION, hello: { from: '1', to: '3' } }));
      attack(ws);
      expect((await done).code).to.equal(code);
      await stillServes(what.split(' ')[1]!);
    });
  }

  it('answers bad HTTP requests with a JSON error and a fitting status', async () => {
    const cases: [string, RequestInit, number, RegExp][] = [
      ['/kv/a', { method: 'PUT', body: '{bad json', headers: { 'content-type': 'application/json' } }, 400, /not valid JSON/],
      ['/kv/a', { method: 'PUT', body: '', headers: { 'content-type': 'application/json' } }, 400, /body is empty/],
      ['/kv/a', { method: 'PUT', body: 'x'.repeat(1024 * 1024 + 1), headers: { 'content-type': 'application/json' } }, 413, /larger than/],
      ['/kv/a/cas', { method: 'POST', body: '{"value": 1}', headers: { 'content-type': 'application/json' } }, 400, /"expected"/],
      ['/kv/a', { method: 'PATCH', body: '1', headers: { 'content-type': 'application/json' } }, 405, /not supported/],
      ['/nowhere', { method: 'GET' }, 404, /no such endpoint/],
      ['/kv/%E0%A4%A', { method: 'GET' }, 400, /percent-encoding/],
    ];
    for (const [path, init, status, pattern] of cases) {
      const res = await fetch(cluster.url('2', path), init);
      expect(res.status, `${init.method} ${path}`).to.equal(status);
      const body = (await res.json()) as { error: string };
      expect(body.error).to.match(pattern);
    }
    await stillServes('http');
  });

  it('answers a missing key with 404 and a present one with its value', async () => {
    expect((await fetch(cluster.url('1', '/kv/never-set'))).status).to.equal(404);
    await fetch(cluster.url('1', '/kv/there'), { method: 'PUT', body: '[1,2]', headers: { 'content-type': 'application/json' } });
    expect(await (await fetch(cluster.url('3', '/kv/there'))).json()).to.deep.equal({ value: [1, 2] });
  });
});
