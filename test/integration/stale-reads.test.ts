import { expect } from 'chai';
import { KvCluster } from '../helpers/kv-cluster.ts';

describe('integration: stale reads, on request, over HTTP', function () {
  this.timeout(60_000);
  let cluster: KvCluster;

  before(async () => {
    cluster = await KvCluster.create();
    await cluster.leader();
  });

  after(async () => {
    await cluster.stop();
  });

  it('a node cut off from its quorum still answers a stale read from its own copy, but not a linearizable one', async () => {
    // A write answers once applied on the node that took it.
    expect((await fetch(cluster.url('1', '/kv/k'), { method: 'PUT', body: '"v1"', headers: { 'content-type': 'application/json' } })).status).to.equal(200);
    await Promise.all(['2', '3'].map((id) => cluster.nodes.get(id)!.stop()));

    const stale = await fetch(cluster.url('1', '/kv/k?consistency=stale'), { signal: AbortSignal.timeout(1000) });
    expect(await stale.json()).to.deep.equal({ value: 'v1' });
    // No quorum can confirm that node 1 is current, so the linearizable read does not answer.
    const linearizable = await fetch(cluster.url('1', '/kv/k'), { signal: AbortSignal.timeout(1000) }).then(
      () => 'answered',
      (e: Error) => e.name,
    );
    expect(linearizable).to.equal('TimeoutError');
  });

  it('refuses an unknown consistency with 400', async () => {
    const answer = await fetch(cluster.url('1', '/kv/k?consistency=eventual'));
    expect(answer.status).to.equal(400);
    expect(await answer.json()).to.deep.include({ error: 'consistency must be "linearizable" or "stale", got "eventual"' });
  });
});
