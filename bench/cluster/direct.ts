import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { forkScript, removeTempDir, tempDir, type Child } from './children.ts';
import { loopbackMembers } from './ports.ts';
import { measureCpu } from './proc.ts';
import type { NodeProtocol } from './protocol.ts';
import { ELECTION_TIMEOUT_MS, WARM_UP_SECONDS, type ClusterRow, type Progress, type RowSpec, type SerializerName } from './rows.ts';

type BenchNode = Child<NodeProtocol>;

/** How long a new cluster has to agree on a leader. */
const LEADER_TIMEOUT_MS = 30_000;

/** The node every member names as leader, in the same term, once it says it leads. */
async function agreedLeader(nodes: ReadonlyMap<string, BenchNode>): Promise<{ id: string; node: BenchNode; term: number }> {
  const deadline = performance.now() + LEADER_TIMEOUT_MS;
  for (;;) {
    const views = await Promise.all([...nodes].map(async ([id, node]) => ({ id, ...(await node.call('view', {})) })));
    const leader = views.find((v) => v.role === 'Leader');
    if (leader !== undefined && views.every((v) => v.leader === leader.id && v.term === leader.term)) {
      return { id: leader.id, node: nodes.get(leader.id)!, term: leader.term };
    }
    if (performance.now() > deadline) throw new Error(`no agreed leader within ${LEADER_TIMEOUT_MS} ms: ${JSON.stringify(views)}`);
    await sleep(50);
  }
}

/**
 * A cluster of `size` bench nodes (node.ts), each an OS process with its log under `root`, driven
 * from inside its leader: each row runs `inFlight` concurrent proposers there for `seconds`.
 * `execArgv` is added to each node's flags (`--cpu-prof`, say).
 */
export async function directRows(
  size: number,
  root: string,
  serializer: SerializerName,
  rows: readonly RowSpec[],
  seconds: number,
  progress: Progress,
  execArgv: readonly string[] = [],
): Promise<ClusterRow[]> {
  const dir = tempDir(join(root, `direct-${size}-${serializer}`));
  progress(`starting ${size} bench nodes (${serializer})`);
  const configuration = await loopbackMembers(size);
  const nodes = new Map(Object.keys(configuration).map((id) => [id, forkScript<NodeProtocol>(`bench node ${id}`, './node.ts', execArgv)]));
  try {
    await Promise.all(
      [...nodes].map(([id, node]) => node.call('start', { id, configuration, electionTimeout: ELECTION_TIMEOUT_MS, dataDir: dir, serializer })),
    );
    const first = await agreedLeader(nodes);
    progress(`${size} nodes (${serializer}), applyOperation: warming up`);
    await first.node.call('load', { concurrency: 64, seconds: Math.min(WARM_UP_SECONDS, seconds), opBytes: 100 });
    const results: ClusterRow[] = [];
    for (const row of rows) {
      progress(`${size} nodes (${serializer}), applyOperation, ${row.inFlight} in flight x ${row.opBytes} B`);
      const leader = await agreedLeader(nodes);
      const pids = new Map([...nodes].map(([id, node]) => [id, node.child.pid]));
      const { result, cpu } = await measureCpu(pids, leader.id, () => leader.node.call('load', { concurrency: row.inFlight, seconds, opBytes: row.opBytes }));
      results.push({
        ...row,
        client: 'applyOperation',
        serializer,
        nodes: size,
        seconds,
        ops: result.ops,
        errors: result.errors,
        opsPerSec: result.ops / (result.elapsedMs / 1000),
        latency: result.latency,
        leaderRssBytes: result.rssBytes,
        cpuPerOp: cpu,
        ledThroughout: result.ledThroughout,
        leaderId: leader.id,
        leaderPid: leader.node.child.pid ?? null,
      });
    }
    await Promise.all([...nodes.values()].map((node) => node.call('stop', {})));
    return results;
  } finally {
    await Promise.all([...nodes.values()].map((node) => node.stop()));
    removeTempDir(dir);
  }
}
