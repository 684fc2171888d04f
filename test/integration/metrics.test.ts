import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvCluster } from '../helpers/kv-cluster.ts';
import { waitUntil } from '../helpers/processes.ts';
import { parsePrometheusText, sample, type Samples } from '../helpers/prometheus-text.ts';

const TOKEN = '9c1e4b7a2f6d08e35a1c7b9d4e2f6a80';
const AUTHORIZED = { authorization: `Bearer ${TOKEN}` };
const IDS = ['1', '2', '3'];
/** Writes in the burst. */
const BURST = 40;

describe('integration: GET /metrics on a 3-node kvstore cluster over WebSockets', function () {
  this.timeout(20_000);
  let dir: string;
  let cluster: KvCluster;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-metrics-'));
    writeFileSync(join(dir, 'client.token'), `${TOKEN}\n`);
    // Files, not memory: the fsync histogram has something to time.
    cluster = await KvCluster.create(3, `dataDir: ${join(dir, 'data')}\nclientTokenFile: ${join(dir, 'client.token')}\n`);
  });

  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function scrape(id: string): Promise<Samples> {
    const res = await fetch(cluster.url(id, '/metrics'), { signal: AbortSignal.timeout(5000) });
    expect(res.status, `GET /metrics on node ${id}`).to.equal(200);
    return parsePrometheusText(await res.text());
  }

  async function put(id: string, key: string, value: unknown): Promise<number> {
    const res = await fetch(cluster.url(id, `/kv/${key}`), {
      method: 'PUT',
      headers: { ...AUTHORIZED, 'content-type': 'application/json' },
      body: JSON.stringify(value),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status, `PUT /kv/${key}`).to.equal(200);
    return ((await res.json()) as { index: number }).index;
  }

  it('is open like /status: served without the client token that /kv needs, in the Prometheus text format, to GET only', async () => {
    const leader = await cluster.leader();
    const res = await fetch(cluster.url(leader, '/metrics'));
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).to.include('# TYPE graft_commit_latency_seconds histogram\n');
    expect(text).to.include('# TYPE graft_commits_total counter\n');
    expect(text).to.include('# TYPE graft_term gauge\n');
    expect((await fetch(cluster.url(leader, '/kv/anything'))).status, 'the API itself wants the token').to.equal(401);
    const post = await fetch(cluster.url(leader, '/metrics'), { method: 'POST', headers: AUTHORIZED });
    expect(post.status).to.equal(405);
    expect(((await post.json()) as { error: string }).error).to.equal('POST /metrics is not supported; use GET');
  });

  it('shows writes, a snapshot and an election as they happen', async () => {
    const leader = await cluster.leader();
    const followers = IDS.filter((id) => id !== leader);
    const before = new Map<string, Samples>();
    for (const id of IDS) before.set(id, await scrape(id));
    const was = before.get(leader)!;
    expect(sample(was, 'graft_role', { role: 'Leader' })).to.equal(1);
    expect(sample(was, 'graft_role', { role: 'Follower' })).to.equal(0);
    for (const id of followers) {
      expect(sample(before.get(id)!, 'graft_role', { role: 'Follower' }), `node ${id}`).to.equal(1);
      expect(sample(before.get(id)!, 'graft_role', { role: 'Leader' }), `node ${id}`).to.equal(0);
    }

    // A burst of writes, then a snapshot, all on the leader.
    const indexes = await Promise.all(Array.from({ length: BURST }, (_, i) => put(leader, `key-${i}`, { i })));
    const lastWrite = Math.max(...indexes);
    const snapshot = await fetch(cluster.url(leader, '/admin/snapshot'), { method: 'POST', headers: AUTHORIZED });
    expect(snapshot.status).to.equal(200);

    // The leader sees both followers hold every write.
    const now = await waitUntil('the leader to see both followers hold the burst', async () => {
      const s = await scrape(leader);
      const caughtUp = followers.every(
        (peer) => sample(s, 'graft_peer_match_index', { peer }) >= lastWrite && sample(s, 'graft_peer_lag_entries', { peer }) === 0,
      );
      return caughtUp ? s : null;
    });
    const grew = (after: Samples, prior: Samples, name: string, labels: Record<string, string> = {}): number =>
      sample(after, name, labels) - sample(prior, name, labels);
    expect(sample(now, 'graft_commit_index')).to.be.at.least(sample(was, 'graft_commit_index') + BURST);
    expect(sample(now, 'graft_applied_index')).to.be.at.least(sample(was, 'graft_applied_index') + BURST);
    expect(grew(now, was, 'graft_proposals_total')).to.be.at.least(BURST);
    expect(grew(now, was, 'graft_commits_total')).to.be.at.least(BURST);
    // Each write was one applyOperation on the leader, timed from the call to its result.
    expect(grew(now, was, 'graft_commit_latency_seconds_count')).to.equal(BURST);
    expect(grew(now, was, 'graft_commit_latency_seconds_bucket', { le: '+Inf' })).to.equal(BURST);
    expect(grew(now, was, 'graft_commit_latency_seconds_sum')).to.be.greaterThan(0);
    expect(grew(now, was, 'graft_wal_fsync_duration_seconds_count')).to.be.at.least(1);
    expect(grew(now, was, 'graft_snapshots_total')).to.equal(1);
    expect(grew(now, was, 'graft_snapshot_duration_seconds_count')).to.equal(1);
    expect(sample(now, 'graft_snapshot_size_bytes')).to.be.greaterThan(0);
    for (const peer of followers) {
      expect(grew(now, was, 'graft_peer_sent_bytes_total', { peer }), `bytes sent to ${peer}`).to.be.greaterThan(0);
      expect(grew(now, was, 'graft_peer_received_bytes_total', { peer }), `bytes received from ${peer}`).to.be.greaterThan(0);
      expect(sample(now, 'graft_peer_connected', { peer }), `connected to ${peer}`).to.equal(1);
    }
    for (const id of followers) {
      const [prior, after] = [before.get(id)!, await scrape(id)];
      expect(sample(after, 'graft_applied_index'), `node ${id}`).to.be.at.least(sample(prior, 'graft_applied_index') + BURST);
      expect(grew(after, prior, 'graft_commits_total'), `node ${id}`).to.be.at.least(BURST);
      expect(grew(after, prior, 'graft_wal_fsync_duration_seconds_count'), `node ${id}`).to.be.at.least(1);
      // Followers append what the leader sends them; only a leader appends proposals.
      expect(grew(after, prior, 'graft_proposals_total'), `node ${id}`).to.equal(0);
      expect(grew(after, prior, 'graft_peer_sent_bytes_total', { peer: leader }), `node ${id}`).to.be.greaterThan(0);
      // Replication is shown only by the leader.
      expect(
        [...after.keys()].some((key) => key.startsWith('graft_peer_match_index')),
        `node ${id}`,
      ).to.equal(false);
      before.set(id, after);
    }

    // An election: the leader stops (handing leadership over), and a follower takes its place.
    await cluster.nodes.get(leader)!.stop();
    const newLeader = await waitUntil('a follower to lead', async () => {
      for (const id of followers) if (sample(await scrape(id), 'graft_role', { role: 'Leader' }) === 1) return id;
      return null;
    });
    const other = followers.find((id) => id !== newLeader)!;
    // A new leader knows how far a follower's log matches once the follower has answered it.
    const led = await waitUntil('the new leader to see the old one disconnected, and the other follower holding the burst', async () => {
      const s = await scrape(newLeader);
      return sample(s, 'graft_peer_connected', { peer: leader }) === 0 && sample(s, 'graft_peer_match_index', { peer: other }) >= lastWrite ? s : null;
    });
    const prior = before.get(newLeader)!;
    expect(grew(led, prior, 'graft_term')).to.be.at.least(1);
    expect(grew(led, prior, 'graft_elections_started_total')).to.be.at.least(1);
    expect(grew(led, prior, 'graft_elections_won_total')).to.equal(1);
    expect(sample(led, 'graft_role', { role: 'Follower' })).to.equal(0);
    expect(sample(led, 'graft_peer_connected', { peer: other })).to.equal(1);
    const follows = await waitUntil('the other follower to be in the new term, without the old leader', async () => {
      const s = await scrape(other);
      return sample(s, 'graft_term') === sample(led, 'graft_term') && sample(s, 'graft_peer_connected', { peer: leader }) === 0 ? s : null;
    });
    expect(sample(follows, 'graft_role', { role: 'Follower' })).to.equal(1);
    expect(grew(follows, before.get(other)!, 'graft_elections_won_total')).to.equal(0);
  });
});
