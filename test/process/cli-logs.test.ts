import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.ts';
import { ProcessCluster, spawnCli, waitUntil, type NodeProcess } from '../helpers/processes.ts';

/** A parsed JSON log line. */
type LogLine = Record<string, unknown> & { level: string; msg: string };

/** Every line `node` wrote to standard error, each parsed as JSON (throwing, naming the line, if one is not). */
function jsonLines(node: NodeProcess): LogLine[] {
  return node.stderrLines.map((line) => {
    try {
      return JSON.parse(line) as LogLine;
    } catch {
      throw new Error(`node ${node.id} wrote a line that is not JSON: ${line}`);
    }
  });
}

describe('process: the logs of graft start', function () {
  this.timeout(60_000);

  describe('with standard error a pipe and GRAFT_LOG_FORMAT unset', () => {
    let cluster: ProcessCluster;

    before(async () => {
      cluster = await ProcessCluster.create(3, 300, { env: { GRAFT_LOG_FORMAT: undefined } });
    });
    after(async () => {
      await cluster.stop();
    });

    it('are JSON lines, with the election, a lost peer and its return in their context', async () => {
      const { leader, term } = await cluster.agreedLeader(['1', '2', '3']);
      const follower = ['1', '2', '3'].find((id) => id !== leader)!;
      const leading = cluster.nodes.get(leader)!;
      await leading.waitForLine(/"msg":"became Leader/);
      await cluster.nodes.get(follower)!.kill('SIGKILL');
      await leading.waitForLine(new RegExp(`"msg":"lost the connection to peer ${follower}; calling it again"`));
      await cluster.start(follower).waitForLine(/"msg":"listening on/);
      await leading.waitForLine(new RegExp(`"msg":"connected to peer ${follower} again"`));

      const lines = jsonLines(leading);
      for (const line of lines) {
        expect(line, JSON.stringify(line)).to.include({ node: leader, pid: leading.child.pid });
        expect(line['time'], JSON.stringify(line)).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(['info', 'warn', 'error']).to.include(line.level);
      }
      const won = lines.find((l) => l.msg === `became Leader: won the election for term ${term}`);
      expect(won).to.include({ level: 'info', role: 'Leader', term, leader });
      expect(lines.find((l) => l.msg.startsWith('listening on '))).to.include({ level: 'info', address: cluster.address(leader), app: 'kvstore' });
      expect(lines.find((l) => l.msg.startsWith('lost the connection'))).to.include({ level: 'warn', component: 'transport', peer: follower });
      expect(lines.find((l) => l.msg.startsWith('connected to peer'))).to.include({ level: 'info', component: 'transport', peer: follower });
      expect(lines.find((l) => l.msg.startsWith('configuration at index'))).to.deep.include({ voters: ['1', '2', '3'], learners: [] });
    });
  });

  describe('GRAFT_LOG_LEVEL', () => {
    let dir: string;
    let address: string;
    let node: NodeProcess | undefined;

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'graft-logs-'));
      address = `127.0.0.1:${await freePort()}`;
      writeFileSync(join(dir, 'cluster.yaml'), `electionTimeout: 150\nconfiguration:\n  1: ${address}\ndataDir: ./data\n`);
    });
    afterEach(async () => {
      await node?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    const start = (env: NodeJS.ProcessEnv): NodeProcess => spawnCli(['start', '--config', join(dir, 'cluster.yaml'), '--id', '1'], env);

    it('at warn leaves out what happens at info', async () => {
      node = start({ GRAFT_LOG_LEVEL: 'warn' });
      await node.waitForLine(/WARN \[node 1\] the HTTP API is open/);
      // By the time it answers /status as leader, it has been through its election, which is logged at info.
      await waitUntil('node 1 to lead', async () => {
        const status = await fetch(`http://${address}/status`)
          .then((res) => (res.ok ? (res.json() as Promise<{ role: string }>) : null))
          .catch(() => null);
        return status?.role === 'Leader';
      });
      node.child.kill('SIGINT');
      expect(await node.exited).to.equal(0);
      expect(node.stderrLines.filter((l) => / INFO /.test(l))).to.deep.equal([]);
      expect(node.stderrLines.some((l) => / WARN \[node 1\] the peer protocol is open/.test(l))).to.equal(true);
    });

    it('a value that is not a level is said in one line, and info is used', async () => {
      node = start({ GRAFT_LOG_LEVEL: 'loud' });
      await node.waitForLine(/INFO \[node 1\] became Leader/);
      expect(node.stderrLines[0]).to.match(/^\S+ WARN \[node 1\] GRAFT_LOG_LEVEL="loud" is not one of debug, info, warn, error; using info$/);
      expect(node.stderrLines.filter((l) => /GRAFT_LOG_LEVEL/.test(l))).to.have.length(1);
    });
  });
});
