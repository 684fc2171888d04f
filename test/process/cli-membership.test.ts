import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { freePort } from '../helpers/ports.ts';
import { cliEnvironment, NodeProcess, ProcessCluster, runCli } from '../helpers/processes.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const NODE_FLAGS = ['--conditions=graft-source', '--import', import.meta.resolve('tsx')];

/** Runs `graft ARGS` (a `graft start`) as a long-lived process in `cwd`. */
function startGraft(id: string, address: string, args: readonly string[], cwd: string): NodeProcess {
  const child = spawn(process.execPath, [...NODE_FLAGS, CLI, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cliEnvironment({ GRAFT_LOG_LEVEL: 'info' }),
  });
  return new NodeProcess(id, address, child);
}

/** The exit code of `node`, or a failure naming what it printed if it is still running after `timeoutMs`. */
async function exitCode(node: NodeProcess, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`node ${node.id} still runs after ${timeoutMs} ms; it printed:\n${node.lines.join('\n')}`)), timeoutMs);
  });
  try {
    return await Promise.race([node.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rows of `graft configuration`, by member id: [address, voter|learner, role, ...]. */
async function configurationRows(at: string): Promise<Map<string, string[]>> {
  const run = await runCli(['configuration', '--cluster', at]);
  expect(run.code, run.stderr).to.equal(0);
  const [, header, ...rows] = run.stdout.trimEnd().split('\n');
  expect(header?.split(/\s+/)).to.deep.equal(['id', 'address', 'suffrage', 'role', 'term', 'commit', 'applied']);
  return new Map(rows.map((row) => row.split(/\s+/)).map(([id, ...rest]) => [id!, rest]));
}

describe('process: membership changes through the graft CLI', function () {
  this.timeout(60_000);
  let cluster: ProcessCluster;
  const extra: NodeProcess[] = [];

  before(async () => {
    cluster = await ProcessCluster.create(3);
    await cluster.agreedLeader(['1', '2', '3']);
  });

  after(async () => {
    await Promise.all(extra.map((node) => node.kill('SIGKILL')));
    await cluster?.stop();
  });

  it('a 4th machine joins with `graft start --join`, serves reads, restarts without --join, and stops once removed', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const join = ['start', '--id', '4', '--address', address, '--join', cluster.address('2'), '--config', cluster.configPath];
    const four = startGraft('4', address, join, cluster.dir);
    extra.push(four);
    await four.waitForLine(new RegExp(`listening on ${address.replace(/\./g, '\\.')} `));
    await four.waitForLine(/joined the cluster as a voter/);

    const rows = await configurationRows(cluster.address('1'));
    expect([...rows.keys()]).to.deep.equal(['1', '2', '3', '4']);
    expect(rows.get('4')?.slice(0, 2)).to.deep.equal([address, 'voter']);

    const set = await runCli(['kv', 'set', 'joined', '{"by":4}', '--cluster', cluster.address('1')]);
    expect(set.code, set.stderr).to.equal(0);
    const get = await runCli(['kv', 'get', 'joined', '--cluster', address]);
    expect(get.code, get.stderr).to.equal(0);
    expect(JSON.parse(get.stdout)).to.deep.equal({ by: 4 });

    // Restarted on its data directory, it needs no --join: its log holds the configuration. Without
    // --config, `graft start` reads cluster.yaml from the working directory.
    expect(await four.kill('SIGTERM')).to.equal(0);
    const again = startGraft('4', address, ['start', '--id', '4', '--address', address], cluster.dir);
    extra.push(again);
    await again.waitForLine(/listening on/);
    const later = await runCli(['kv', 'set', 'later', '2', '--cluster', cluster.address('3')]);
    expect(later.code, later.stderr).to.equal(0);
    const read = await runCli(['kv', 'get', 'later', '--cluster', address]);
    expect(read.code, read.stderr).to.equal(0);
    expect(read.stdout.trim()).to.equal('2');

    const remove = await runCli(['member', 'remove', '4', '--cluster', cluster.address('3')]);
    expect(remove.code, remove.stderr).to.equal(0);
    expect(remove.stdout).to.match(/^removed 4$/m);
    expect(remove.stdout).to.not.match(/^4 /m);
    expect(await exitCode(again, 10_000)).to.equal(0);
    expect(again.lines.some((line) => /stopping: this machine is no longer a member/.test(line))).to.equal(true);
    expect([...(await configurationRows(cluster.address('1'))).keys()]).to.deep.equal(['1', '2', '3']);
  });

  it('refuses what cannot be done, saying why', async () => {
    const notMember = await runCli(['member', 'remove', '7', '--cluster', cluster.address('1')]);
    expect(notMember.code).to.equal(1);
    expect(notMember.stderr).to.match(/remove member 7 failed: .*7 is not a member/);

    const noAddress = await runCli(['start', '--id', '5', '--config', cluster.configPath]);
    expect(noAddress.code).to.equal(2);
    expect(noAddress.stderr).to.match(/machine id "5" is not in .*cluster\.yaml.*--address HOST:PORT/);

    const nobody = `127.0.0.1:${await freePort()}`;
    const unreachable = await runCli(['start', '--id', '5', '--address', `127.0.0.1:${await freePort()}`, '--join', nobody, '--config', cluster.configPath]);
    expect(unreachable.code).to.equal(1);
    expect(unreachable.stderr).to.contain(`cannot reach the cluster at ${nobody}: connection refused`);

    const leader = (await cluster.agreedLeader(['1', '2', '3'])).leader;
    const post = (body: unknown): Promise<Response> =>
      fetch(`http://${cluster.address(leader)}/admin/members`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const missing = await post({ id: '5' });
    expect(missing.status).to.equal(400);
    expect(((await missing.json()) as { error: string }).error).to.match(/^address is missing/);
    const badLearner = await post({ id: '5', address: '127.0.0.1:1', learner: 'yes' });
    expect(badLearner.status).to.equal(400);
    expect(((await badLearner.json()) as { error: string }).error).to.match(/^learner must be true or false/);

    const members = (await (await fetch(`http://${cluster.address('1')}/members`)).json()) as { members: { id: string; role: string }[] };
    expect(members.members.map((m) => `${m.id}:${m.role}`)).to.deep.equal(['1:voter', '2:voter', '3:voter']);
  });
});
