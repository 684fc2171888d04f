import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessCluster, runCli, type CliRun } from '../helpers/processes.ts';

const TOKEN = '5b0e8d2c4a6f41c3b7e9d1a0c2f4e6a8';

/** Runs the CLI with GRAFT_TOKEN set to `token`, or unset when it is undefined (whatever this process has). */
function graft(args: readonly string[], token?: string): Promise<CliRun> {
  const saved = process.env['GRAFT_TOKEN'];
  if (token === undefined) delete process.env['GRAFT_TOKEN'];
  else process.env['GRAFT_TOKEN'] = token;
  try {
    return runCli(args); // the child process takes its environment now
  } finally {
    if (saved === undefined) delete process.env['GRAFT_TOKEN'];
    else process.env['GRAFT_TOKEN'] = saved;
  }
}

describe('process: the graft CLI and a cluster with clientTokenFile', function () {
  this.timeout(30_000);
  let dir: string;
  let tokenFile: string;
  let cluster: ProcessCluster;
  let at: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-cli-token-'));
    tokenFile = join(dir, 'client.token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    cluster = await ProcessCluster.create(1, 150, { extraConfig: `clientTokenFile: ${JSON.stringify(tokenFile)}` });
    at = cluster.address('1');
    await cluster.agreedLeader(['1']);
  });

  after(async () => {
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('a node with a token does not warn that its API is open', () => {
    expect(cluster.nodes.get('1')!.lines.join('\n')).to.not.match(/HTTP API is open/);
  });

  it('refuses a write without a token: exit 1, one line naming --token-file and GRAFT_TOKEN', async () => {
    const run = await graft(['kv', 'set', 'k', '1', '--cluster', at]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.equal(`graft: ${at} requires a client token: give --token-file PATH or set GRAFT_TOKEN\n`);
  });

  it('writes with --token-file (before or after the command) and with GRAFT_TOKEN; --token-file wins', async () => {
    const set = await graft(['kv', 'set', 'k', '"with file"', '--cluster', at, '--token-file', tokenFile]);
    expect(set.code, set.stderr).to.equal(0);
    expect(set.stdout).to.match(/^OK index=\d+/);
    const get = await graft(['--token-file', tokenFile, 'kv', 'get', 'k', '--cluster', at]);
    expect(get.code, get.stderr).to.equal(0);
    expect(JSON.parse(get.stdout)).to.equal('with file');

    const cas = await graft(['kv', 'cas', 'k', '"with file"', '"with variable"', '--cluster', at], TOKEN);
    expect(cas.code, cas.stderr).to.equal(0);
    const wins = await graft(['kv', 'get', 'k', '--cluster', at, '--token-file', tokenFile], 'not-the-token-but-long-enough');
    expect(wins.code, wins.stderr).to.equal(0);
    expect(JSON.parse(wins.stdout)).to.equal('with variable');
  });

  it('a wrong token is refused, naming where it came from but not the token', async () => {
    const wrong = 'not-the-token-but-long-enough';
    const run = await graft(['kv', 'get', 'k', '--cluster', at], wrong);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal(`graft: ${at} refused the client token from GRAFT_TOKEN: give the cluster's token with --token-file PATH or GRAFT_TOKEN\n`);
    const missing = await graft(['kv', 'get', 'k', '--cluster', at, '--token-file', join(dir, 'nope')]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal(`graft: cannot read --token-file ${join(dir, 'nope')}: no such file\n`);
  });

  it('graft status needs no token; graft snapshot does', async () => {
    const status = await graft(['status', '--cluster', at]);
    expect(status.code, status.stderr).to.equal(0);
    expect(JSON.parse(status.stdout)).to.include({ id: '1' });
    const snapshot = await graft(['snapshot', '--cluster', at]);
    expect(snapshot.code).to.equal(1);
    expect(snapshot.stderr).to.match(/requires a client token: give --token-file PATH or set GRAFT_TOKEN\n$/);
  });

  it('graft start --join asks with the token of its cluster file', async () => {
    const joined = await cluster.join('2', '1');
    await joined.waitForLine(/joined the cluster as a voter/, 15_000);
    const members = await graft(['configuration', '--cluster', at]);
    expect(members.stdout).to.match(/^2 +127\.0\.0\.1:\d+ +voter/m);
  });
});
