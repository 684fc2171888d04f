import { expect } from 'chai';
import { KvCluster } from '../helpers/kv-cluster.ts';
import { waitUntil } from '../helpers/processes.ts';

/** What GET /health/ready answers a node, as [status, body]. */
async function readiness(cluster: KvCluster, id: string): Promise<[number, Record<string, unknown>]> {
  const res = await fetch(cluster.url(id, '/health/ready'));
  return [res.status, (await res.json()) as Record<string, unknown>];
}

describe('integration: GET /health/ready says whether a node can serve', function () {
  this.timeout(30_000);
  let cluster: KvCluster;

  before(async () => {
    cluster = await KvCluster.create(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('ready on every member once a leader is known; not ready, saying why, on a member left without one', async () => {
    const leader = await cluster.leader();
    for (const id of ['1', '2', '3']) {
      const [status, body] = await readiness(cluster, id);
      expect([status, body['status'], body['leader']], `node ${id}`).to.deep.equal([200, 'ready', leader]);
    }
    // Left alone, the last member loses its leader (check-quorum, then elections it cannot win).
    const survivor = ['1', '2', '3'].find((id) => id !== leader)!;
    for (const id of ['1', '2', '3']) if (id !== survivor) await cluster.nodes.get(id)!.stop();
    const [status, body] = await waitUntil('the survivor to be not ready', async () => {
      const answer = await readiness(cluster, survivor);
      return answer[0] === 503 ? answer : null;
    });
    expect([status, body['status'], body['reason']]).to.deep.equal([503, 'not ready', 'no leader known']);
    // /health (alive) is another matter: it still answers.
    expect((await fetch(cluster.url(survivor, '/health'))).status).to.equal(200);
  });
});
