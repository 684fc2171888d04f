import { expect } from 'chai';
import { seededRng } from '../../src/core/rng.ts';
import { checkKvHistory, type KvInput, type KvOutput, type Operation } from '../linearizability/checker.ts';
import { ProcessCluster } from '../helpers/processes.ts';
import { randomKvInput } from '../simulation/workload.ts';

type HistoryOp = Operation<KvInput, KvOutput>;

/** Whether a request failed before it reached any node: then it cannot have taken effect. */
function refused(error: unknown): boolean {
  return (error as { cause?: { code?: unknown } })?.cause?.code === 'ECONNREFUSED';
}

/**
 * Performs one operation over HTTP; returns what was observed, undefined when the outcome is
 * unknown, or 'refused' when no node took the request (so it certainly had no effect).
 */
async function perform(address: string, input: KvInput): Promise<KvOutput | undefined | 'refused'> {
  const path = `/kv/${input.key}`;
  const request = (method: string, suffix = '', body?: unknown) =>
    fetch(`http://${address}${path}${suffix}`, {
      method,
      signal: AbortSignal.timeout(2000),
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  try {
    switch (input.kind) {
      case 'set': {
        const res = await request('PUT', '', input.value);
        return res.status === 200 ? { done: true } : undefined;
      }
      case 'delete': {
        const res = await request('DELETE');
        return res.status === 200 ? { done: true } : undefined;
      }
      case 'get': {
        const res = await request('GET');
        if (res.status === 404) return { value: undefined };
        return res.status === 200 ? { value: ((await res.json()) as { value: unknown }).value } : undefined;
      }
      case 'cas': {
        const res = await request('POST', '/cas', { expected: input.expected, value: input.value });
        return res.status === 200 ? { ok: ((await res.json()) as { ok: boolean }).ok } : undefined;
      }
    }
  } catch (error) {
    return refused(error) ? 'refused' : undefined; // reset, or no answer in time: unknown
  }
}

/** Asks whichever node `via` thinks leads to hand leadership over; true when it did. */
async function transferLeadership(cluster: ProcessCluster, via: string): Promise<boolean> {
  try {
    const status = (await (await fetch(`http://${cluster.address(via)}/status`, { signal: AbortSignal.timeout(1000) })).json()) as { leader: string | null };
    if (status.leader === null) return false;
    const res = await fetch(`http://${cluster.address(status.leader)}/admin/leader/transfer`, { method: 'POST', signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false; // the node is down or paused: no transfer this time
  }
}

describe("process: a nemesis kills, stops, pauses and resumes real nodes and moves leadership; the clients' history stays linearizable", function () {
  this.timeout(180_000);
  const SEED = Number(process.env['GRAFT_NEMESIS_SEED'] ?? 1124);
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await ProcessCluster.create(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it(`SIGKILL, clean stop, restart, SIGSTOP, SIGCONT and leadership transfer at random (seed ${SEED})`, async () => {
    // The faults draw from their own generator, so the seed fixes the schedule of faults whatever the
    // clients (which draw from another) happen to do meanwhile.
    const rng = seededRng(SEED);
    const clientRng = seededRng(SEED + 1);
    const ids = ['1', '2', '3'];
    const history: HistoryOp[] = [];
    let running = true;
    let counter = 0;

    const clients = Array.from({ length: 4 }, async (_, client) => {
      while (running) {
        const input = randomKvInput(clientRng, 2, counter++);
        const target = ids[clientRng.nextInt(3)]!;
        const call = performance.now();
        const output = await perform(cluster.address(target), input);
        // A refused request is left out: keeping it as unknown would only widen the checker's search.
        if (output === 'refused') continue;
        history.push({ client, input, output, call, return: output === undefined ? Infinity : performance.now() });
      }
    });

    // One fault at a time, so a majority is usually up and the clients make progress.
    const FAULTS = 12;
    let kills = 0;
    let stops = 0;
    let transfers = 0;
    for (let fault = 0; fault < FAULTS; fault++) {
      await new Promise((resolve) => setTimeout(resolve, 200 + rng.nextInt(600)));
      const victim = cluster.nodes.get(ids[rng.nextInt(3)]!)!;
      const kind = rng.nextInt(4);
      if (kind === 0 || kind === 1) {
        // A crash, or a clean stop (SIGTERM: a leader hands over first); then a restart.
        await victim.kill(kind === 0 ? 'SIGKILL' : 'SIGTERM');
        kills++;
        await new Promise((resolve) => setTimeout(resolve, 100 + rng.nextInt(400)));
        await cluster.start(victim.id).waitForLine(/listening on/);
      } else if (kind === 2) {
        // Just after another fault there may be no leader to ask yet: try a few times.
        for (let attempt = 0; attempt < 5; attempt++) {
          if (await transferLeadership(cluster, victim.id)) {
            transfers++;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      } else {
        victim.child.kill('SIGSTOP');
        stops++;
        await new Promise((resolve) => setTimeout(resolve, 200 + rng.nextInt(800)));
        victim.child.kill('SIGCONT');
      }
    }
    running = false;
    await Promise.all(clients);

    const acknowledged = history.filter((op) => op.output !== undefined).length;
    expect(kills, 'kills').to.be.greaterThan(0);
    expect(stops, 'stops').to.be.greaterThan(0);
    expect(transfers, 'leadership transfers').to.be.greaterThan(0);
    expect(acknowledged, 'operations with a known outcome').to.be.greaterThan(50);
    expect(checkKvHistory(history), 'the key whose history is not linearizable').to.equal(null);
  });
});
