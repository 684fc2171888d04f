import { expect } from 'chai';
import { ProcessCluster, runCli, spawnCli, waitUntil } from '../helpers/processes.ts';

/** `graft ... --json` against a cluster of real processes: what a program reads, one JSON document per command. */
describe('process: graft --json', function () {
  this.timeout(60_000);
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await ProcessCluster.create(3, 150);
    await cluster.agreedLeader(['1', '2', '3']);
  });

  after(async () => {
    await cluster?.stop();
  });

  /** Runs `graft ARGS --json --cluster` against node 1 and parses what it printed. */
  async function json(...args: string[]): Promise<Record<string, unknown>> {
    const run = await runCli([...args, '--json', '--cluster', cluster.address('1')]);
    expect(run.code, `graft ${args.join(' ')}: ${run.stderr}`).to.equal(0);
    return JSON.parse(run.stdout) as Record<string, unknown>;
  }

  it('kv set, get, cas and del', async () => {
    const set = await json('kv', 'set', 'greeting', '"hello"');
    expect(set['ok']).to.equal(true);
    expect(set['index']).to.be.a('number');
    expect(await json('kv', 'get', 'greeting')).to.deep.equal({ key: 'greeting', value: 'hello' });
    expect(await json('kv', 'cas', 'greeting', '"hello"', '"bonjour"')).to.deep.equal({ ok: true });
    const del = await json('kv', 'del', 'greeting');
    expect([del['ok'], typeof del['index']]).to.deep.equal([true, 'number']);
  });

  it('configuration --watch prints a view every second, one JSON document per line, and shows a member going away', async () => {
    const watch = spawnCli(['configuration', '--watch', '--json', '--cluster', cluster.address('1')]);
    try {
      const views = (): { members: { id: string; role?: string; unreachable?: string }[] }[] =>
        watch.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { members: { id: string; role?: string; unreachable?: string }[] });
      await waitUntil('a first view', async () => views().length >= 1, 10_000);
      expect(views()[0]!.members.map((m) => m.id)).to.deep.equal(['1', '2', '3']);
      await cluster.nodes.get('3')!.kill('SIGKILL');
      await waitUntil(
        'a view with node 3 unreachable',
        async () => views().some((v) => v.members.find((m) => m.id === '3')?.unreachable !== undefined),
        10_000,
      );
    } finally {
      await watch.kill('SIGINT');
    }
    cluster.start('3');
    await cluster.nodes.get('3')!.waitForLine(/listening on/);
    await cluster.agreedLeader(['1', '2', '3']);
  });

  it('configuration, leader transfer and snapshot', async () => {
    const before = await json('configuration');
    expect(before['clusterId']).to.be.a('string');
    const members = before['members'] as { id: string; suffrage: string; role: string; term: number }[];
    expect(members.map((m) => [m.id, m.suffrage])).to.deep.equal([
      ['1', 'voter'],
      ['2', 'voter'],
      ['3', 'voter'],
    ]);
    expect(members.filter((m) => m.role === 'Leader').map((m) => m.id)).to.deep.equal([before['leader']]);
    const target = ['1', '2', '3'].find((id) => id !== before['leader'])!;
    expect(await json('leader', 'transfer', target)).to.deep.equal({ leader: target, previous: before['leader'] });
    const snapshots = (await json('snapshot'))['snapshots'] as { id: string; index: number; error?: string }[];
    expect(snapshots.map((s) => [s.id, typeof s.index, s.error])).to.deep.equal([
      ['1', 'number', undefined],
      ['2', 'number', undefined],
      ['3', 'number', undefined],
    ]);
  });
});
