import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.ts';
import { spawnCli, type NodeProcess, type NodeStatus } from '../helpers/processes.ts';

describe('process: graft up', function () {
  this.timeout(60_000);
  let dir: string;
  let up: NodeProcess | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-up-'));
  });

  afterEach(async () => {
    await up?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('says the cluster runs only once a leader is known, and one Ctrl-C stops every node cleanly', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, 'cluster.yaml');
    writeFileSync(config, `electionTimeout: 150\ndataDir: ./data\nconfiguration:\n${ports.map((p, i) => `  ${i + 1}: 127.0.0.1:${p}`).join('\n')}\n`);
    up = spawnCli(['up', '--config', config]);
    await up.waitForLine(/^cluster of 3 running, leader \d; try: graft kv set/);
    const leader = /leader (\d)/.exec(up.lines.find((l) => l.startsWith('cluster of 3 running'))!)![1]!;
    const status = (await (await fetch(`http://127.0.0.1:${ports[Number(leader) - 1]}/status`)).json()) as NodeStatus;
    expect([status.id, status.role]).to.deep.equal([leader, 'Leader']);
    up.child.kill('SIGINT');
    expect(await up.exited).to.equal(0);
    expect(up.lines).to.include('stopping all nodes (Ctrl-C again to force)');
    // Every node stops at once: the leader has no one to hand over to, and says so without a warning;
    // its peers see each other stop, not lose their connections.
    const afterStop = up.lines.slice(up.lines.indexOf('stopping all nodes (Ctrl-C again to force)'));
    expect(afterStop.filter((l) => / WARN /.test(l))).to.deep.equal([]);
    expect(afterStop.some((l) => l.startsWith(`[${leader}] `) && /stopping without a hand-over|handed leadership/.test(l))).to.equal(true);
    for (const id of ['1', '2', '3'])
      expect(
        up.lines.some((l) => l.startsWith(`[${id}] `) && /stopped/.test(l)),
        `node ${id} stopped cleanly`,
      ).to.equal(true);
  });

  it('a node that exits on its own is reported, and the command then fails', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports[1], '127.0.0.1', resolve));
    try {
      const config = join(dir, 'cluster.yaml');
      writeFileSync(config, `electionTimeout: 150\ndataDir: ./data\nconfiguration:\n${ports.map((p, i) => `  ${i + 1}: 127.0.0.1:${p}`).join('\n')}\n`);
      up = spawnCli(['up', '--config', config]);
      await up.waitForLine(/^\[2\] exited \(code 1\)/);
      expect(up.lines).to.include(
        `[2] graft: cannot listen on 127.0.0.1:${ports[1]}: the port is in use (by another node, or another program); stop it, or give this member another address`,
      );
      // A new cluster's first election needs every member (the RejoinGuard): no leader, so no word of running.
      await Promise.all(['1', '3'].map((id) => up!.waitForLine(new RegExp(`^\\[${id}\\] .*became PreCandidate`))));
      up.child.kill('SIGINT');
      expect(await up.exited).to.equal(1);
      expect(up.stderrLines).to.include('graft: node 2 exited on its own; see the lines above');
      expect(up.lines.some((l) => l.startsWith('cluster of 3 running'))).to.equal(false);
    } finally {
      blocker.close();
    }
  });
});
