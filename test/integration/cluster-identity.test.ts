import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClusterConfig, type ClusterConfig } from '../../src/config.ts';
import { GraftError } from '../../src/errors.ts';
import { GraftInstance } from '../../src/graft.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import type { MemoryStorage } from '../../src/storage/memory.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';
import { waitUntil as waitFor } from '../helpers/processes.ts';
import { recordingLogger, type RecordingLogger } from '../helpers/recording-logger.ts';

/** A node `id` of `config` on `storage`, applying into `applied`. */
function instance(config: ClusterConfig, id: string, storage: MemoryStorage, applied: string[], logger: RecordingLogger): GraftInstance<string, number> {
  return new GraftInstance<string, number>({
    config,
    machineId: id,
    storage,
    logger,
    serializer: jsonSerializer<string>(),
    applicator: (op) => applied.push(op),
  });
}

describe('integration: a cluster has an identity, and nothing of another cluster gets in', function () {
  this.timeout(30_000);
  const clusters: GraftCluster[] = [];
  const extra: GraftInstance<string, number>[] = [];
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-identity-'));
    writeFileSync(join(dir, 'cluster.secret'), 'both-clusters-happen-to-share-this-secret\n');
  });

  afterEach(async () => {
    await Promise.all([...extra.splice(0).map((g) => g.stop()), ...clusters.splice(0).map((c) => c.stop())]);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the first leader names the cluster, and every member agrees on the name once it commits', async () => {
    const cluster = await GraftCluster.create(3);
    clusters.push(cluster);
    await cluster.agreedLeader();
    const ids = () => [...cluster.nodes.values()].map((n) => n.graft.status().clusterId);
    await waitUntil(cluster.instances(), () => ids().every((id) => id !== null && id === ids()[0]), 'every member to know the cluster id');
    expect(ids()[0]).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('a node started on the data of another cluster than its configuration names is refused at start, naming both', async () => {
    const cluster = await GraftCluster.create(3, { clusterId: 'alpha' });
    clusters.push(cluster);
    const leader = await cluster.agreedLeader();
    await cluster.node(leader).graft.applyOperation('of alpha');
    const other = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    await waitUntil(cluster.instances(), () => cluster.node(other).applied.includes('of alpha'), `${other} to apply the write`);
    await cluster.node(other).graft.stop();
    const config = parseClusterConfig(rewrite(cluster.config, 'beta'));
    const wrong = instance(config, other, cluster.node(other).storage, [], recordingLogger());
    const error = await wrong.start().then(
      () => null,
      (e: unknown) => e,
    );
    extra.push(wrong);
    expect(error).to.be.instanceOf(GraftError);
    expect((error as GraftError).code).to.equal('STORAGE_INVALID');
    expect((error as Error).message).to.match(/the log is of cluster alpha, but the configuration names cluster beta/);
  });

  it("a member of another cluster with the same ids, addresses and secret (another cluster's data) is refused, and the cluster stays healthy", async () => {
    const secretFile = join(dir, 'cluster.secret');
    const home = await GraftCluster.create(3, { secretFile });
    const stranger = await GraftCluster.create(3, { secretFile });
    clusters.push(home, stranger);
    const strangerLeader = await stranger.agreedLeader();
    await stranger.node(strangerLeader).graft.applyOperation('of the stranger');
    await waitUntil(
      stranger.instances(),
      () => [...stranger.nodes.values()].every((n) => n.graft.status().clusterId !== null),
      'the stranger cluster to be named',
    );
    const strangerId = stranger.node('3').graft.status().clusterId!;
    await stranger.stop();

    const leader = await home.agreedLeader();
    await home.node(leader).graft.applyOperation('before');
    await waitUntil(home.instances(), () => [...home.nodes.values()].every((n) => n.graft.status().clusterId !== null), 'the home cluster to be named');
    const homeId = home.node(leader).graft.status().clusterId!;
    expect(homeId).to.not.equal(strangerId);
    // Machine 3 of the home cluster comes back on the stranger's machine 3 data: same id, same secret, another cluster.
    const victim = leader === '3' ? '2' : '3';
    const survivors = [...home.nodes.keys()].filter((id) => id !== victim);
    await home.node(victim).graft.stop();
    const leaderNow = await home.agreedLeader();
    const term = home.node(leaderNow).graft.status().term;
    const logger = recordingLogger();
    const applied: string[] = [];
    const wrong = instance(home.config, victim, stranger.node(victim).storage, applied, logger);
    extra.push(wrong);
    await wrong.start();
    const refusal = `belongs to cluster ${homeId}, and this node to cluster ${strangerId}`;
    await waitFor('the wrong node to be refused, naming both clusters', async () => logger.warnings.some((w) => w.includes(refusal)));
    for (let i = 0; i < 5; i++) await home.node(leaderNow).graft.applyOperation(`after ${i}`);
    const healthy = survivors.map((id) => home.node(id).graft.status());
    expect(
      healthy.map((s) => [s.term, s.leader]),
      'term and leader unchanged',
    ).to.deep.equal(survivors.map(() => [term, leaderNow]));
    expect(
      applied.some((op) => op.startsWith('after')),
      "nothing of the home cluster's log reached the wrong node",
    ).to.equal(false);
    expect(wrong.status().clusterId).to.equal(strangerId);
  });
});

/** The text of `config` with `clusterId` set. */
function rewrite(config: ClusterConfig, clusterId: string): string {
  const members = [...config.members].map(([id, a]) => `  ${id}: ${a.host}:${a.port}`).join('\n');
  return `electionTimeout: ${config.electionTimeout}\nheartbeatInterval: ${config.heartbeatInterval}\nclusterId: ${clusterId}\nconfiguration:\n${members}\n`;
}
