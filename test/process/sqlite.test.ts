import { expect } from 'chai';
import { ProcessCluster, runCli, waitUntil, type NodeStatus } from '../helpers/processes.ts';

/** What `/status` adds for snapshots. */
interface SnapshotStatus extends NodeStatus {
  readonly firstIndex: number;
  readonly snapshotIndex: number;
}

/** One request to the sqlite app's API: its status and JSON answer. */
async function sql(
  address: string,
  kind: 'command' | 'query',
  text: string,
  params: unknown[] = [],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${address}/sql/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: text, params }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('process: the replicated SQLite app (graft start --app sqlite)', function () {
  this.timeout(60_000);
  let cluster: ProcessCluster;

  afterEach(async () => {
    await cluster?.stop();
  });

  it('creates, inserts through one node, selects from another, survives the loss of its leader, and brings it back from a snapshot', async () => {
    // A small threshold: the survivors take snapshots and compact their logs while the killed node is away.
    cluster = await ProcessCluster.create(3, 300, { app: 'sqlite', extraConfig: 'snapshot: { entries: 20 }' });
    const ids = ['1', '2', '3'];
    const { leader } = await cluster.agreedLeader(ids);
    const [writer, reader] = [ids.find((id) => id !== leader)!, leader];

    const created = await runCli([
      'command',
      'CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, qty INTEGER)',
      '--cluster',
      cluster.address(writer),
    ]);
    expect(created.stderr).to.equal('');
    expect(created.stdout).to.equal('OK changes=0 lastInsertRowid=0\n');
    for (const [i, [name, qty]] of [
      ['apple', 3],
      ['banana', 15],
      ['cherry', 7],
    ].entries()) {
      const inserted = await sql(cluster.address(writer), 'command', 'INSERT INTO fruit (name, qty) VALUES (?, ?)', [name, qty]);
      expect(inserted).to.deep.equal({ status: 200, body: { changes: 1, lastInsertRowid: i + 1 } });
    }

    // Another node reads them (linearizably: it waits to have applied what was acknowledged), as an aligned table.
    const selected = await runCli(['query', 'SELECT id, name, qty FROM fruit ORDER BY id', '--cluster', cluster.address(reader)]);
    expect(selected.stdout.split('\n')).to.deep.equal(['id  name    qty', '1   apple   3', '2   banana  15', '3   cherry  7', '(3 rows)', '']);
    const asJson = await runCli(['--json', 'query', 'SELECT name FROM fruit WHERE qty > ?', '--params', '[5]', '--cluster', cluster.address(reader)]);
    expect(JSON.parse(asJson.stdout)).to.deep.equal({ columns: ['name'], rows: [['banana'], ['cherry']] });

    // Nondeterministic SQL is refused with its reason, before it is proposed: nothing reaches the log.
    const before = (await cluster.status(leader))!.commitIndex;
    const random = await runCli(['command', "INSERT INTO fruit (name, qty) VALUES ('damson', random())", '--cluster', cluster.address(writer)]);
    expect(random.code).to.equal(1);
    expect(random.stderr).to.match(/^graft: command failed: nondeterministic SQL refused: random\(\) gives each replica a different number; .+\n$/);
    const now = await sql(cluster.address(writer), 'command', "UPDATE fruit SET name = datetime('now')");
    expect(now).to.deep.include({ status: 400 });
    expect(now.body).to.deep.include({ code: 'GRAFT_REFUSED' });
    expect((await cluster.status(leader))!.commitIndex).to.equal(before);

    // A statement SQLite refuses goes through the log and fails alike everywhere; the cluster goes on.
    const duplicate = await runCli([
      'command',
      'INSERT INTO fruit (name, qty) VALUES (?, ?)',
      '--params',
      '["apple", 1]',
      '--cluster',
      cluster.address(writer),
    ]);
    expect(duplicate.code).to.equal(1);
    expect(duplicate.stderr).to.equal('graft: command failed: UNIQUE constraint failed: fruit.name\n');
    expect(await sql(cluster.address(reader), 'command', 'INSERT INTO nowhere VALUES (1)')).to.deep.equal({
      status: 400,
      body: { error: 'no such table: nowhere', code: 'SQLITE_ERROR' },
    });
    expect((await cluster.status(leader))!.commitIndex).to.equal(before + 2);
    expect(await sql(cluster.address(writer), 'command', 'UPDATE fruit SET qty = qty + 1 WHERE qty < ?', [10])).to.deep.equal({
      status: 200,
      body: { changes: 2, lastInsertRowid: 0 },
    });

    // The leader dies; a survivor still answers, with every acknowledged write.
    const killedAt = (await cluster.status(leader))!.commitIndex;
    await cluster.nodes.get(leader)!.kill('SIGKILL');
    const survivors = ids.filter((id) => id !== leader);
    const { leader: next } = await cluster.agreedLeader(survivors);
    const survivor = survivors.find((id) => id !== next)!;
    expect((await sql(cluster.address(survivor), 'query', 'SELECT name, qty FROM fruit ORDER BY id')).body).to.deep.equal({
      columns: ['name', 'qty'],
      rows: [
        ['apple', 4],
        ['banana', 15],
        ['cherry', 8],
      ],
    });

    // More writes than the snapshot threshold: the survivors compact their logs past what the dead node holds.
    for (let batch = 0; batch < 5; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          sql(cluster.address(survivor), 'command', 'INSERT INTO fruit (name, qty) VALUES (?, ?)', [`fig ${batch * 10 + i}`, i]),
        ),
      );
      for (const answer of answers) expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    }
    await waitUntil(
      `node ${next} to compact its log past index ${killedAt}`,
      async () => ((await cluster.status(next)) as SnapshotStatus | null)!.firstIndex > killedAt + 1,
    );

    // Back, it is sent the leader's snapshot (its log was compacted past this node's), and catches up.
    const restarted = cluster.start(leader);
    await restarted.waitForLine(/listening on/);
    await restarted.waitForLine(/installed the leader's snapshot \d+/);
    const caughtUp = (await cluster.status(leader)) as SnapshotStatus;
    expect(caughtUp.snapshotIndex, 'the restarted node holds a snapshot past where it died').to.be.greaterThan(killedAt);
    const counted = await sql(cluster.address(leader), 'query', "SELECT count(*), sum(name LIKE 'fig %'), max(id) FROM fruit");
    expect(counted).to.deep.equal({ status: 200, body: { columns: ['count(*)', "sum(name LIKE 'fig %')", 'max(id)'], rows: [[53, 50, 53]] } });
    expect((await sql(cluster.address(leader), 'command', 'DELETE FROM fruit WHERE qty > ?', [10])).body).to.deep.equal({ changes: 1, lastInsertRowid: 0 });
    for (const id of ids) expect(cluster.nodes.get(id)!.running(), `node ${id} runs`).to.equal(true);
  });
});
