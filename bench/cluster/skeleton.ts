import { mkdirSync } from 'node:fs';
import { forkScript } from './children.ts';
import type { LatencySummary } from './histogram.ts';
import type { SkeletonProtocol } from './protocol.ts';

/** A lone write's latency through a replication skeleton, for one cluster size and operation size. */
export interface SkeletonLimit {
  readonly nodes: number;
  readonly bytes: number;
  /** One write at a time: sent to every follower and written by every process, done once a majority is durable. */
  readonly write: LatencySummary;
}

/**
 * What Node itself needs for a lone durable write to a majority of `nodes` processes, measured with
 * no Raft: `nodes` processes (skeleton-process.ts), `ws` between the leader and each follower, a
 * durable append in each. A lone Graft write does the same and more; the gap is Graft's own cost.
 */
export async function measureSkeleton(dir: string, nodes: number, sizes: readonly number[], seconds: number): Promise<SkeletonLimit[]> {
  mkdirSync(dir, { recursive: true });
  const leader = forkScript<SkeletonProtocol>('skeleton leader', './skeleton-process.ts');
  const followers = Array.from({ length: nodes - 1 }, (_, i) => forkScript<SkeletonProtocol>(`skeleton follower ${i + 1}`, './skeleton-process.ts'));
  try {
    const ports = await Promise.all(followers.map((f, i) => f.call('follow', { dir, name: `follower-${i + 1}` })));
    const limits: SkeletonLimit[] = [];
    for (const bytes of sizes) limits.push({ nodes, bytes, write: await leader.call('lead', { ports, dir, bytes, seconds }) });
    return limits;
  } finally {
    await Promise.all([leader, ...followers].map((p) => p.stop()));
  }
}
