import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterView } from '../../src/cli/apps/kvstore/dashboard/cluster-view.ts';
import { startKvNode, type KvNode } from '../../src/cli/apps/kvstore/node.ts';
import { loadClusterConfig, type ClusterConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { KvCluster } from '../helpers/kv-cluster.ts';
import { freePort } from '../helpers/ports.ts';

const TOKEN = 'dashboard-test-token-0123456789';
const ORIGIN = 'https://ops.example.com';

interface Target {
  readonly host: string;
  readonly port: number;
  /** For HTTPS: the client's certificate, key and the CA. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
}

/**
 * Opens `GET /dashboard/events` on `target` and resolves with the first view for which `wanted`
 * holds, then closes the stream; rejects on another answer than a stream, or after `timeoutMs`.
 */
function awaitView(target: Target, wanted: (view: ClusterView) => boolean, timeoutMs = 10_000, headers: Record<string, string> = {}): Promise<ClusterView> {
  return new Promise((resolve, reject) => {
    const options = { host: target.host, port: target.port, path: '/dashboard/events', headers, agent: false as const };
    const req = target.tls === undefined ? httpRequest(options) : httpsRequest({ ...options, ...target.tls });
    let last: ClusterView | null = null;
    const timer = setTimeout(() => done(new Error(`no wanted view within ${timeoutMs} ms; the last was ${JSON.stringify(last)}`)), timeoutMs);
    const done = (outcome: ClusterView | Error): void => {
      clearTimeout(timer);
      req.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    req.on('error', (error) => done(error));
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200 || res.headers['content-type'] !== 'text/event-stream; charset=utf-8') {
        return done(new Error(`not a stream: ${res.statusCode} ${res.headers['content-type']}`));
      }
      let buffer = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^event: view\ndata: (.*)$/.exec(event)?.[1];
          if (data === undefined) continue;
          last = JSON.parse(data) as ClusterView;
          if (wanted(last)) return done(last);
        }
      });
    });
    req.end();
  });
}

const allUp = (view: ClusterView): boolean => view.leader !== null && view.members.length === 3 && view.members.every((m) => m.state === 'up');

describe('integration: the dashboard of kvstore nodes', function () {
  this.timeout(30_000);

  describe('with a client token and allowed origins', () => {
    let dir: string;
    let cluster: KvCluster;
    const target = (id: string): Target => ({ host: '127.0.0.1', port: cluster.config.members.get(id)!.port });

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graft-dashboard-'));
      writeFileSync(join(dir, 'client.token'), TOKEN);
      cluster = await KvCluster.create(3, `allowedOrigins: ["${ORIGIN}"]\nclientTokenFile: ${JSON.stringify(join(dir, 'client.token'))}\n`);
    });

    after(async () => {
      await cluster?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves the page and its stream without a token, as /status; the rest of the API still needs it', async () => {
      const page = await fetch(cluster.url('1', '/'));
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).to.contain("default-src 'none'");
      expect(await page.text()).to.contain('<title>Graft</title>');
      const view = await awaitView(target('1'), allUp);
      expect(view.servedBy).to.equal('1');
      expect((await fetch(cluster.url('1', '/members'))).status).to.equal(401);
    });

    it('refuses a page of another origin, page and stream alike; serves a listed one', async () => {
      for (const path of ['/', '/dashboard/events']) {
        const answer = await fetch(cluster.url('1', path), { headers: { origin: 'https://evil.example' } });
        expect(answer.status, path).to.equal(403);
        expect(((await answer.json()) as { error: string }).error).to.contain('the origin "https://evil.example" is not in the cluster\'s allowedOrigins');
      }
      await awaitView(target('1'), () => true, 10_000, { origin: ORIGIN });
    });

    it('answers only GET, with a 405 naming it (behind the token like any request that is not open)', async () => {
      const refused = await fetch(cluster.url('1', '/'), { method: 'DELETE' });
      expect(refused.status).to.equal(401);
      const answer = await fetch(cluster.url('1', '/dashboard/events'), { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(answer.status).to.equal(405);
      expect(await answer.json()).to.deep.equal({ error: 'DELETE /dashboard/events is not supported; use GET' });
    });

    it('shows every member with its figures and the leader; a member that stops as down, and says so in the events', async () => {
      const leader = await cluster.leader();
      const follower = ['1', '2', '3'].find((id) => id !== leader)!;
      const watcher = ['1', '2', '3'].find((id) => id !== leader && id !== follower)!;
      const view = await awaitView(target(watcher), allUp);
      expect(view.leader).to.equal(leader);
      for (const m of view.members) {
        expect(m.suffrage, `node ${m.id}`).to.equal('voter');
        expect(m.role, `node ${m.id}`).to.equal(m.id === leader ? 'Leader' : 'Follower');
        expect(m.commitIndex, `node ${m.id}`).to.be.a('number');
        expect(m.lag, `node ${m.id}`).to.be.a('number');
        expect(m.self, `node ${m.id}`).to.equal(m.id === watcher);
      }
      expect(view.events.some((e) => e.kind === 'leader' && e.text === `node ${leader} leads in term ${view.term}`)).to.equal(true);

      // Writes show as throughput.
      for (let i = 0; i < 20; i++) {
        const put = await fetch(cluster.url(leader, `/kv/k${i}`), {
          method: 'PUT',
          body: '1',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        });
        expect(put.status).to.equal(200);
      }
      await awaitView(target(watcher), (v) => v.throughput.some((rate) => rate > 0));

      await cluster.nodes.get(follower)!.stop();
      const after = await awaitView(target(watcher), (v) => v.members.find((m) => m.id === follower)?.state === 'down');
      expect(after.members.find((m) => m.id === follower)).to.include({ reason: 'connection refused', role: null, lag: null });
      expect(after.events.some((e) => e.kind === 'connection' && e.text === `node ${follower} is down: connection refused`)).to.equal(true);
    });
  });

  describe('with tls', () => {
    const fixtures = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
    const pem = (name: string): string => readFileSync(join(fixtures, name), 'utf8');
    let dir: string;
    let config: ClusterConfig;
    const nodes: KvNode[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graft-dashboard-tls-'));
      const lines: string[] = [];
      for (let i = 1; i <= 3; i++) lines.push(`  ${i}: 127.0.0.1:${await freePort()}`);
      const path = join(dir, 'cluster.yaml');
      const tls = `tls:\n  cert: ${join(fixtures, 'node.pem')}\n  key: ${join(fixtures, 'node-key.pem')}\n  ca: ${join(fixtures, 'ca.pem')}\n`;
      writeFileSync(path, `electionTimeout: 150\nconfiguration:\n${lines.join('\n')}\n${tls}`);
      config = loadClusterConfig(path);
      for (const id of config.members.keys()) nodes.push(await startKvNode({ config, id, logger: silentLogger }));
    });

    after(async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("asks its peers over https with the node's certificate: every member shows up", async () => {
      const client = { cert: pem('client.pem'), key: pem('client-key.pem'), ca: pem('ca.pem') };
      const view = await awaitView({ host: '127.0.0.1', port: config.members.get('2')!.port, tls: client }, allUp);
      expect(view.members.map((m) => [m.id, m.state])).to.deep.equal([
        ['1', 'up'],
        ['2', 'up'],
        ['3', 'up'],
      ]);
    });
  });
});
