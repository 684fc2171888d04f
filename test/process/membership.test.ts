import { expect } from 'chai';
import { ProcessCluster, runCli, waitUntil } from '../helpers/processes.ts';

/** Election timeout of the cluster, ms: writes may be refused for at most two of them at any step. */
const ELECTION_TIMEOUT = 400;

interface MembersAnswer {
  readonly members: readonly { readonly id: string; readonly role: string }[];
}

/**
 * Writers that each put fresh keys, one at a time, to a member picked at random, until stopped: the
 * acknowledged keys, and the longest time in which no write at all was acknowledged, per step.
 */
class WriteLoad {
  /** Members writes may go to: a member is taken out before it is removed. */
  readonly targets: string[];
  readonly acknowledged = new Map<string, number>();
  /** The longest stretch without an acknowledged write, per step of the test. */
  readonly longestGap = new Map<string, number>();
  private step = 'start';
  private lastAck = performance.now();
  private running = true;
  private readonly writers: Promise<void>[] = [];

  constructor(
    private readonly cluster: ProcessCluster,
    members: readonly string[],
  ) {
    this.targets = [...members];
  }

  start(writers: number): void {
    for (let w = 0; w < writers; w++) this.writers.push(this.write(w));
  }

  /** From now on, gaps count towards `step`. */
  enter(step: string): void {
    this.step = step;
    this.longestGap.set(step, 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.writers);
  }

  private async write(writer: number): Promise<void> {
    for (let seq = 0; this.running; seq++) {
      const key = `w${writer}-${seq}`;
      const target = this.targets[Math.floor(Math.random() * this.targets.length)]!;
      const ok = await fetch(`http://${this.cluster.address(target)}/kv/${key}`, {
        method: 'PUT',
        body: JSON.stringify(seq),
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(3000),
      }).then(
        (res) => res.status === 200,
        () => false,
      );
      const now = performance.now();
      if (ok) {
        this.acknowledged.set(key, seq);
        this.longestGap.set(this.step, Math.max(this.longestGap.get(this.step) ?? 0, now - this.lastAck));
        this.lastAck = Math.max(this.lastAck, now);
      } else {
        // A refused or unanswered write: the writer moves on to the next key after a breath, so a
        // node that is gone (connection refused at once) does not turn the loop into a busy one.
        this.longestGap.set(this.step, Math.max(this.longestGap.get(this.step) ?? 0, now - this.lastAck));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }
}

describe('process: membership changes under a continuous write load (Raft thesis chapter 4)', function () {
  this.timeout(240_000);
  let cluster: ProcessCluster;
  let load: WriteLoad | undefined;

  after(async () => {
    // The writers stop with the test, whatever became of it: left running, they would load the rest of the suite.
    await load?.stop();
    await cluster?.stop();
  });

  async function members(via: string): Promise<MembersAnswer['members']> {
    const res = await fetch(`http://${cluster.address(via)}/members`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as MembersAnswer).members;
  }

  async function voters(via: string): Promise<string[]> {
    return (await members(via)).filter((m) => m.role === 'voter').map((m) => m.id);
  }

  async function remove(id: string, via: string): Promise<void> {
    const run = await runCli(['member', 'remove', id, '--cluster', cluster.address(via)], 60_000);
    expect(run.code, `graft member remove ${id}: ${run.stderr}`).to.equal(0);
    // A removed machine serves no one: its `graft start` ends by itself, cleanly.
    const node = cluster.nodes.get(id)!;
    const exited = await Promise.race([node.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 20_000))]);
    expect(exited, `node ${id} after its removal; it printed:\n${node.lines.slice(-15).join('\n')}`).to.equal(0);
  }

  it('grows 3 to 5 with --join, replaces two members, removes the leader, shrinks to 3: every acknowledged write is on every final member', async () => {
    // Snapshots every few hundred entries: the machines that join catch up from one (Raft §7).
    cluster = await ProcessCluster.create(3, ELECTION_TIMEOUT, { extraConfig: 'snapshot:\n  entries: 300' });
    await cluster.agreedLeader(['1', '2', '3']);
    const writes = new WriteLoad(cluster, ['1', '2', '3']);
    load = writes;
    writes.enter('steady, 3 members');
    writes.start(4);
    await waitUntil('the first writes', async () => writes.acknowledged.size >= 20);

    writes.enter('grow to 5 with --join');
    for (const id of ['4', '5']) {
      const node = await cluster.join(id, '1');
      await node.waitForLine(/joined the cluster as a voter/, 60_000);
      writes.targets.push(id);
    }
    expect(await voters('1')).to.deep.equal(['1', '2', '3', '4', '5']);

    writes.enter('replace 1 by 6, then 2 by 7');
    for (const [fresh, old] of [
      ['6', '1'],
      ['7', '2'],
    ] as const) {
      const node = await cluster.join(fresh, '3');
      await node.waitForLine(/joined the cluster as a voter/, 60_000);
      writes.targets.push(fresh);
      writes.targets.splice(writes.targets.indexOf(old), 1);
      await remove(old, '3');
    }
    expect(await voters('3')).to.deep.equal(['3', '4', '5', '6', '7']);

    writes.enter('remove the leader');
    const { leader } = await cluster.agreedLeader(writes.targets);
    writes.targets.splice(writes.targets.indexOf(leader), 1);
    await remove(leader, writes.targets[0]!);

    writes.enter('shrink to 3');
    const extra = writes.targets.find((id) => id !== writes.targets[0])!;
    writes.targets.splice(writes.targets.indexOf(extra), 1);
    await remove(extra, writes.targets[0]!);
    await waitUntil('more writes on the final members', async () => writes.acknowledged.size >= 40);
    await writes.stop();

    const final = [...writes.targets].sort();
    expect(final).to.have.length(3);
    for (const id of final) expect(await voters(id), `the configuration as ${id} sees it`).to.deep.equal(final);
    const { leader: finalLeader } = await cluster.agreedLeader(final);
    const commit = (await cluster.status(finalLeader))!.commitIndex;
    await waitUntil('every final member to apply everything committed', async () => {
      const views = await Promise.all(final.map((id) => cluster.status(id)));
      return views.every((v) => v !== null && v.appliedIndex >= commit);
    });
    for (const id of final) {
      for (const [key, value] of writes.acknowledged) {
        const res = await fetch(`http://${cluster.address(id)}/kv/${key}?consistency=stale`, { signal: AbortSignal.timeout(2000) });
        expect(res.status, `${key} on ${id}`).to.equal(200);
        expect(((await res.json()) as { value: unknown }).value, `${key} on ${id}`).to.equal(value);
      }
    }
    const fromSnapshot = ['4', '5', '6', '7'].filter((id) => cluster.nodes.get(id)!.lines.some((l) => l.includes("installed the leader's snapshot")));
    expect(fromSnapshot, 'machines that caught up from a snapshot').to.have.length.above(0);
    const gaps = [...writes.longestGap].map(([step, ms]) => `${step}: ${Math.round(ms)} ms`);
    console.log(
      `      ${writes.acknowledged.size} acknowledged writes, all on every final member; ${fromSnapshot.join(', ')} caught up from a snapshot; longest time without an acknowledged write: ${gaps.join('; ')}`,
    );
    for (const [step, ms] of writes.longestGap) {
      expect(ms, `writes refused for ${Math.round(ms)} ms during "${step}"`).to.be.at.most(2 * ELECTION_TIMEOUT);
    }
  });
});
