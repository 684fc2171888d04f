import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKvNode, type KvNode } from '../../src/cli/apps/kvstore/node.ts';
import { loadClusterConfig } from '../../src/config.ts';
import { silentLogger, type Logger } from '../../src/logger.ts';
import { freePort } from '../helpers/ports.ts';
import { logArguments, type LogArgs } from '../helpers/recording-logger.ts';

const TOKEN = 'f3a1c9e07b5d42e8a6c1d0b9e7f2a4c3';
const DASHBOARD = 'https://dashboard.example.com';
const EVIL = 'https://evil.example';

/** A one-member kvstore cluster in this process, its cluster.yaml ending with `extra`. */
async function startNode(dir: string, name: string, extra: string, logger: Logger = silentLogger): Promise<{ node: KvNode; base: string }> {
  const port = await freePort();
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `electionTimeout: 100\nconfiguration:\n  1: 127.0.0.1:${port}\n${extra}`);
  const node = await startKvNode({ config: loadClusterConfig(path), id: '1', logger });
  const base = `http://127.0.0.1:${port}`;
  // A single member elects itself; wait until it writes.
  for (let i = 0; node.store.graft.status().role !== 'Leader'; i++) {
    if (i > 200) throw new Error(`node ${name} did not become leader`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { node, base };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(base: string, method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(5000), ...init });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

const json = { 'content-type': 'application/json' };

describe('integration: who the HTTP API of a kvstore node serves', function () {
  this.timeout(30_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-http-security-'));
    writeFileSync(join(dir, 'client.token'), `${TOKEN}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('without a client token: browsers are not clients', () => {
    let node: KvNode;
    let base: string;
    const warnings: string[] = [];

    before(async () => {
      const logger: Logger = { ...silentLogger, warn: (...args: LogArgs) => void warnings.push(logArguments(args).message), child: () => silentLogger };
      ({ node, base } = await startNode(dir, 'open', `allowedOrigins: ["${DASHBOARD}"]\n`, logger));
      expect((await call(base, 'PUT', '/kv/k', { body: '"v0"', headers: json })).status).to.equal(200);
    });
    after(async () => {
      await node.stop();
    });

    it('warns once, at start, that the API is open to anyone who reaches the port', () => {
      expect(warnings.filter((w) => /HTTP API is open/.test(w))).to.have.length(1);
      expect(warnings.find((w) => /HTTP API is open/.test(w))).to.match(/clientTokenFile/);
    });

    it('refuses a cross-origin text/plain POST to /admin/stop with 403, and keeps running', async () => {
      const answer = await call(base, 'POST', '/admin/stop', { body: 'x', headers: { origin: EVIL, 'content-type': 'text/plain' } });
      expect(answer.status).to.equal(403);
      expect(answer.body['error']).to.match(/web pages are refused: the origin "https:\/\/evil\.example" is not in the cluster's allowedOrigins/);
      expect(answer.headers.get('access-control-allow-origin')).to.equal(null);
      // Without a body too: the Origin alone is enough.
      expect((await call(base, 'POST', '/admin/stop', { headers: { origin: EVIL } })).status).to.equal(403);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(node.store.graft.isRunning()).to.equal(true);
      expect((await call(base, 'GET', '/health')).status).to.equal(200);
    });

    it('refuses a cross-origin text/plain compare-and-set with 403, and the key is unchanged', async () => {
      const body = JSON.stringify({ expected: 'v0', value: 'pwned' });
      const answer = await call(base, 'POST', '/kv/k/cas', { body, headers: { origin: EVIL, 'content-type': 'text/plain;charset=UTF-8' } });
      expect(answer.status).to.equal(403);
      // Declared JSON, the same page is refused all the same (a browser would not even send it without a preflight).
      expect((await call(base, 'POST', '/kv/k/cas', { body, headers: { origin: EVIL, ...json } })).status).to.equal(403);
      // The page's own origin is refused too: the node serves no pages.
      expect((await call(base, 'PUT', '/kv/k', { body: '"x"', headers: { origin: base, ...json } })).status).to.equal(403);
      expect((await call(base, 'GET', '/kv/k')).body).to.deep.equal({ value: 'v0' });
    });

    it('refuses a body that is not declared JSON with 415, naming what it expects', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
        const answer = await call(base, 'PUT', '/kv/k', { body: '"text"', headers: { 'content-type': type } });
        expect(answer.status, type).to.equal(415);
        expect(answer.body['error']).to.equal(`a request body must be JSON, sent with content-type: application/json; got ${JSON.stringify(type)}`);
      }
      const untyped = await call(base, 'POST', '/kv/k/cas', { body: JSON.stringify({ expected: 'v0', value: 'x' }), headers: { 'content-type': '' } });
      expect(untyped.status).to.equal(415);
      expect((await call(base, 'GET', '/kv/k')).body).to.deep.equal({ value: 'v0' });
    });

    it('serves JSON, with parameters in the content type; a request without a body needs no content type', async () => {
      expect((await call(base, 'PUT', '/kv/k', { body: '"v1"', headers: json })).status).to.equal(200);
      expect((await call(base, 'PUT', '/kv/k', { body: '"v2"', headers: { 'content-type': 'Application/JSON; charset=utf-8' } })).status).to.equal(200);
      expect((await call(base, 'POST', '/kv/k/cas', { body: JSON.stringify({ expected: 'v2', value: 'v3' }), headers: json })).body).to.deep.equal({
        ok: true,
      });
      expect((await call(base, 'GET', '/kv/k')).body).to.deep.equal({ value: 'v3' });
      expect((await call(base, 'PUT', '/kv/gone', { body: '1', headers: json })).status).to.equal(200);
      expect((await call(base, 'DELETE', '/kv/gone')).status).to.equal(200);
      expect((await call(base, 'POST', '/admin/snapshot')).status).to.equal(200);
      // No body, no content type needed; the existing checks of the body still apply.
      expect((await call(base, 'PUT', '/kv/k')).body).to.deep.equal({ error: 'the body is empty; send a JSON value' });
    });

    it('serves a listed origin, and answers its CORS preflight', async () => {
      const answer = await call(base, 'PUT', '/kv/k', { body: '"from the dashboard"', headers: { origin: DASHBOARD, ...json } });
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('access-control-allow-origin')).to.equal(DASHBOARD);
      expect(answer.headers.get('vary')).to.equal('Origin');
      const read = await call(base, 'GET', '/kv/k', { headers: { origin: DASHBOARD } });
      expect(read.body).to.deep.equal({ value: 'from the dashboard' });

      const preflight = await call(base, 'OPTIONS', '/kv/k', { headers: { origin: DASHBOARD, 'access-control-request-method': 'PUT' } });
      expect(preflight.status).to.equal(204);
      expect(preflight.headers.get('access-control-allow-origin')).to.equal(DASHBOARD);
      expect(preflight.headers.get('access-control-allow-methods')).to.equal('GET, PUT, POST, DELETE');
      expect(preflight.headers.get('access-control-allow-headers')).to.equal('authorization, content-type');
      const foreign = await call(base, 'OPTIONS', '/kv/k', { headers: { origin: EVIL, 'access-control-request-method': 'PUT' } });
      expect(foreign.status).to.equal(403);
      expect(foreign.headers.get('access-control-allow-origin')).to.equal(null);
      // A listed origin still sends JSON only.
      expect((await call(base, 'PUT', '/kv/k', { body: '"x"', headers: { origin: DASHBOARD, 'content-type': 'text/plain' } })).status).to.equal(415);
    });
  });

  describe('with a client token', () => {
    let node: KvNode;
    let base: string;
    const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

    before(async () => {
      ({ node, base } = await startNode(dir, 'secure', `clientTokenFile: client.token\nallowedOrigins: ["${DASHBOARD}"]\n`));
    });
    after(async () => {
      await node.stop();
    });

    const guarded: [string, string, string | undefined][] = [
      ['GET', '/kv/k', undefined],
      ['PUT', '/kv/k', '"v"'],
      ['DELETE', '/kv/k', undefined],
      ['POST', '/kv/k/cas', '{"expected": null, "value": 1}'],
      ['GET', '/members', undefined],
      ['POST', '/admin/stop', undefined],
      ['POST', '/admin/snapshot', undefined],
      ['POST', '/admin/leader/transfer', '{}'],
      ['POST', '/admin/members', '{"id": "9", "address": "127.0.0.1:1"}'],
      ['DELETE', '/admin/members/1', undefined],
      ['GET', '/nowhere', undefined],
    ];

    it('refuses every request without the token with 401, /kv and /admin alike, and keeps running', async () => {
      for (const [method, path, body] of guarded) {
        const answer = await call(base, method, path, body === undefined ? {} : { body, headers: json });
        expect(answer.status, `${method} ${path}`).to.equal(401);
        expect(answer.body).to.deep.equal({ error: 'this node needs a client token: send Authorization: Bearer <token>' });
        expect(answer.headers.get('www-authenticate')).to.equal('Bearer realm="graft"');
      }
      // Another scheme is no token.
      expect((await call(base, 'GET', '/kv/k', { headers: { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` } })).status).to.equal(401);
      expect(node.store.graft.isRunning()).to.equal(true);
    });

    it('refuses a wrong token with 401, without echoing it', async () => {
      const wrong = [TOKEN.slice(0, -1) + (TOKEN.endsWith('0') ? '1' : '0'), TOKEN.slice(1), `${TOKEN}x`, 'short'];
      for (const token of wrong) {
        for (const [method, path, body] of [
          ['PUT', '/kv/k', '"v"'],
          ['POST', '/admin/stop', undefined],
        ] as const) {
          const answer = await call(base, method, path, body === undefined ? { headers: bearer(token) } : { body, headers: { ...bearer(token), ...json } });
          expect(answer.status, `${token}: ${method} ${path}`).to.equal(401);
          expect(answer.body).to.deep.equal({ error: 'the client token is wrong' });
          expect(answer.headers.get('www-authenticate')).to.equal('Bearer realm="graft", error="invalid_token"');
        }
      }
      expect(node.store.graft.isRunning()).to.equal(true);
    });

    it('serves the right token', async () => {
      expect((await call(base, 'PUT', '/kv/k', { body: '"v1"', headers: { ...bearer(TOKEN), ...json } })).status).to.equal(200);
      expect((await call(base, 'GET', '/kv/k', { headers: bearer(TOKEN) })).body).to.deep.equal({ value: 'v1' });
      expect((await call(base, 'GET', '/kv/k', { headers: { authorization: `bearer ${TOKEN}` } })).status).to.equal(200);
      expect((await call(base, 'GET', '/members', { headers: bearer(TOKEN) })).status).to.equal(200);
      expect((await call(base, 'POST', '/admin/snapshot', { headers: bearer(TOKEN) })).status).to.equal(200);
      // The browser rules come first: a page of another origin is refused even with the token.
      expect((await call(base, 'GET', '/kv/k', { headers: { ...bearer(TOKEN), origin: EVIL } })).status).to.equal(403);
      // A listed origin's preflight carries no token; it is answered, and the request itself needs the token.
      expect((await call(base, 'OPTIONS', '/kv/k', { headers: { origin: DASHBOARD, 'access-control-request-method': 'GET' } })).status).to.equal(204);
      expect((await call(base, 'GET', '/kv/k', { headers: { origin: DASHBOARD } })).status).to.equal(401);
      expect((await call(base, 'GET', '/kv/k', { headers: { ...bearer(TOKEN), origin: DASHBOARD } })).status).to.equal(200);
    });

    it('keeps GET /status and GET /health open', async () => {
      const status = await call(base, 'GET', '/status');
      expect(status.status).to.equal(200);
      expect(status.body['id']).to.equal('1');
      expect((await call(base, 'GET', '/health')).body).to.include({ status: 'ok' });
      // Only GET: anything else on them needs the token like the rest.
      expect((await call(base, 'POST', '/status')).status).to.equal(401);
    });

    it('stops on POST /admin/stop with the token', async () => {
      const answer = await call(base, 'POST', '/admin/stop', { headers: bearer(TOKEN) });
      expect(answer).to.deep.include({ status: 202, body: { stopping: '1' } });
      expect(await node.stopped).to.equal(null);
    });
  });
});
