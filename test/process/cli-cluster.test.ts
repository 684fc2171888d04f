import { expect } from 'chai';
import { freePort } from '../helpers/ports.ts';
import { ProcessCluster, runCli } from '../helpers/processes.ts';

interface Status {
  id: string;
  role: string;
  leader: string | null;
  term: number;
}

async function statusOf(address: string): Promise<Status> {
  const run = await runCli(['status', '--cluster', address]);
  if (run.code !== 0) throw new Error(`graft status failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Status;
}

/** Waits until the node at `address` names a leader among `candidates`, by asking it as each election ends. */
async function leaderSeenBy(cluster: ProcessCluster, address: string, candidates: string[]): Promise<string> {
  await Promise.race(candidates.map((id) => cluster.nodes.get(id)!.waitForLine(/became Leader/, 30_000)));
  for (;;) {
    const { leader } = await statusOf(address);
    if (leader !== null && candidates.includes(leader)) return leader;
  }
}

describe('process: the real graft CLI, three node processes', function () {
  this.timeout(120_000);
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await ProcessCluster.create(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('sets through a follower, reads from another node, and writes again after the leader is SIGKILLed', async () => {
    const ids = ['1', '2', '3'];
    const leader = await leaderSeenBy(cluster, cluster.address('1'), ids);
    const [followerA, followerB] = ids.filter((id) => id !== leader) as [string, string];

    const set = await runCli(['kv', 'set', 'greeting', '{"hello":"world"}', '--cluster', cluster.address(followerA)]);
    expect(set.stderr).to.equal('');
    expect(set.code).to.equal(0);
    expect(set.stdout).to.match(/^OK index=\d+/);

    const get = await runCli(['kv', 'get', 'greeting', '--cluster', cluster.address(followerB)]);
    expect(get.code, get.stderr).to.equal(0);
    expect(JSON.parse(get.stdout)).to.deep.equal({ hello: 'world' });

    await cluster.nodes.get(leader)!.kill('SIGKILL');
    const newLeader = await leaderSeenBy(cluster, cluster.address(followerA), [followerA, followerB]);
    expect(newLeader).to.not.equal(leader);

    const again = await runCli(['kv', 'set', 'after', '42', '--cluster', cluster.address(followerA)]);
    expect(again.code, again.stderr).to.equal(0);
    const read = await runCli(['kv', 'get', 'after', '--cluster', cluster.address(followerB)]);
    expect(read.stdout.trim()).to.equal('42');
    const old = await runCli(['kv', 'get', 'greeting', '--cluster', cluster.address(followerB)]);
    expect(JSON.parse(old.stdout)).to.deep.equal({ hello: 'world' });
  });

  it('deletes and compares-and-sets', async () => {
    const at = cluster.address([...cluster.nodes.values()].find((n) => n.child.exitCode === null && n.child.signalCode === null)!.id);
    expect((await runCli(['kv', 'cas', 'counter', 'null', '1', '--cluster', at])).code).to.equal(0);
    const refused = await runCli(['kv', 'cas', 'counter', '5', '6', '--cluster', at]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/current value is not 5/);
    expect((await runCli(['kv', 'del', 'counter', '--cluster', at])).code).to.equal(0);
    const missing = await runCli(['kv', 'get', 'counter', '--cluster', at]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/not found/);
  });
});

describe('process: the CLI refuses bad input with a clear message', function () {
  this.timeout(60_000);

  it('an unknown command or a missing option exits 2 with usage help', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/unknown command 'frobnicate'/);
    const missing = await runCli(['kv', 'get', 'k']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/--cluster/);
  });

  it('a value that is not JSON exits 1 and shows how to quote a string', async () => {
    const run = await runCli(['kv', 'set', 'k', 'hello', '--cluster', '127.0.0.1:1']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain(`'"hello"'`);
  });

  it('an unreachable node is named in the error', async () => {
    const port = await freePort();
    const run = await runCli(['status', '--cluster', `127.0.0.1:${port}`]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain(`cannot reach 127.0.0.1:${port}: connection refused`);
  });

  it('a broken configuration file stops `graft start` with the file and key named', async () => {
    const run = await runCli(['start', '--config', '/nonexistent/cluster.yaml', '--id', '1']);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('/nonexistent/cluster.yaml');
  });
});
