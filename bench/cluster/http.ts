import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { removeTempDir, spawnScript, tempDir, type Child } from './children.ts';
import { closedLoop } from './closed-loop.ts';
import { measureCpu, rssOf } from './proc.ts';
import { loopbackMembers } from './ports.ts';
import { ELECTION_TIMEOUT_MS, keyOf, WARM_UP_SECONDS, type ClusterRow, type Progress, type RowSpec } from './rows.ts';

// The graft command as users run it: the built package (npm run bench builds it first).
const CLI = fileURLToPath(import.meta.resolve('../../bin/graft.js'));
const LEADER_TIMEOUT_MS = 30_000;

/** What `GET /status` answers, as far as the bench reads it. */
interface Status {
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
}

async function status(address: string): Promise<Status | null> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200 ? ((await res.json()) as Status) : null;
  } catch {
    return null;
  }
}

/** The member every node names as leader, in the same term, once it says it leads. */
async function agreedLeader(members: Readonly<Record<string, string>>): Promise<{ id: string; term: number }> {
  const deadline = performance.now() + LEADER_TIMEOUT_MS;
  for (;;) {
    const views = await Promise.all(Object.values(members).map(status));
    const leader = views[0]?.leader;
    if (
      leader !== null &&
      leader !== undefined &&
      views.every((v) => v !== null && v.leader === leader && v.term === views[0]!.term) &&
      views[Object.keys(members).indexOf(leader)]?.role === 'Leader'
    ) {
      return { id: leader, term: views[0]!.term };
    }
    if (performance.now() > deadline) throw new Error(`the kvstore nodes agreed on no leader within ${LEADER_TIMEOUT_MS} ms: ${JSON.stringify(views)}`);
    await sleep(50);
  }
}

/** PUT /kv/:key with a JSON body on a keep-alive connection of `agent`; resolves on 200, rejects on anything else. */
function put(agent: Agent, address: string, key: string, body: string): Promise<void> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host,
        port: Number(port),
        method: 'PUT',
        path: `/kv/${key}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT /kv/${key}: ${res.statusCode}`))));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/** `inFlight` keep-alive HTTP clients in this process, each sending PUT /kv/:key to `address` and awaiting its answer before the next. */
async function httpLoad(address: string, inFlight: number, opBytes: number, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  // A JSON string of opBytes bytes, quotes included.
  const body = JSON.stringify('x'.repeat(Math.max(0, opBytes - 2)));
  try {
    return await closedLoop(inFlight, seconds, (n) => put(agent, address, keyOf(n), body));
  } finally {
    agent.destroy();
  }
}

/**
 * A kvstore cluster of `size` `graft start` processes (the CLI from source, as `npm run graft`),
 * its files under `root`, driven by HTTP clients in this process against its leader.
 */
export async function httpRows(size: number, root: string, rows: readonly RowSpec[], seconds: number, progress: Progress): Promise<ClusterRow[]> {
  const dir = tempDir(join(root, `http-${size}`));
  mkdirSync(dir, { recursive: true });
  progress(`starting ${size} kvstore nodes (graft start)`);
  const members = await loopbackMembers(size);
  const config = join(dir, 'cluster.yaml');
  const lines = Object.entries(members).map(([id, address]) => `  ${id}: ${address}`);
  writeFileSync(config, `electionTimeout: ${ELECTION_TIMEOUT_MS}\nconfiguration:\n${lines.join('\n')}\ndataDir: ./data\n`);
  const nodes = new Map<string, Child>();
  for (const id of Object.keys(members)) {
    nodes.set(id, spawnScript(`kvstore node ${id}`, CLI, ['start', '--config', config, '--id', id], { GRAFT_LOG_LEVEL: 'warn' }));
  }
  try {
    const first = await agreedLeader(members);
    progress(`${size} nodes, HTTP: warming up`);
    await httpLoad(members[first.id]!, 16, 100, Math.min(WARM_UP_SECONDS, seconds));
    const results: ClusterRow[] = [];
    for (const row of rows) {
      progress(`${size} nodes, HTTP PUT, ${row.inFlight} in flight x ${row.opBytes} B`);
      const leader = await agreedLeader(members);
      const pids = new Map([...nodes].map(([id, node]) => [id, node.child.pid]));
      const { result, cpu } = await measureCpu(pids, leader.id, () => httpLoad(members[leader.id]!, row.inFlight, row.opBytes, seconds));
      const after = await status(members[leader.id]!);
      const pid = nodes.get(leader.id)!.child.pid;
      results.push({
        ...row,
        client: 'http',
        serializer: 'superjson',
        nodes: size,
        seconds,
        ops: result.ops,
        errors: result.errors,
        opsPerSec: result.ops / (result.elapsedMs / 1000),
        latency: result.latency,
        leaderRssBytes: rssOf(pid),
        cpuPerOp: cpu,
        ledThroughout: after?.role === 'Leader' && after.term === leader.term,
        leaderId: leader.id,
        leaderPid: pid ?? null,
      });
    }
    return results;
  } catch (error) {
    const output = [...nodes.values()].map((node) => node.output()).join('');
    throw new Error(`${(error as Error).message}${output}`, { cause: error });
  } finally {
    await Promise.all([...nodes.values()].map((node) => node.stop()));
    removeTempDir(dir);
  }
}
