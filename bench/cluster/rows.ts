import type { CpuPerOp } from './proc.ts';
import type { LatencySummary } from './histogram.ts';

/** How the load reaches the cluster: proposers inside the leader, or HTTP clients of the kvstore. */
export type ClientKind = 'applyOperation' | 'http';

/** The serializers a bench node can run with: Graft's `superjsonSerializer` and `jsonSerializer`. */
export const SERIALIZERS = ['superjson', 'json'] as const;
export type SerializerName = (typeof SERIALIZERS)[number];

/** One row of the table to measure: a load shape. */
export interface RowSpec {
  readonly inFlight: number;
  readonly opBytes: number;
}

/** One measured row. */
export interface ClusterRow extends RowSpec {
  readonly client: ClientKind;
  /** How operations become text: the bench node's serializer, or the kvstore's own (superjson) over HTTP. */
  readonly serializer: SerializerName;
  readonly nodes: number;
  readonly seconds: number;
  /** Operations answered without error. */
  readonly ops: number;
  readonly errors: number;
  readonly opsPerSec: number;
  readonly latency: LatencySummary;
  /** The leader's resident set size at the end of the row, bytes; null where it cannot be read. */
  readonly leaderRssBytes: number | null;
  /** CPU time per operation of the leader and of the busiest follower, µs; null where /proc cannot be read. */
  readonly cpuPerOp: CpuPerOp | null;
  /** False when the leader lost its leadership during the row (its figures then include an election). */
  readonly ledThroughout: boolean;
  readonly leaderId: string;
  readonly leaderPid: number | null;
}

/** Says what the bench is doing (the progress line). */
export type Progress = (what: string) => void;

/** How long each cluster is driven before its first row, to warm it up (JIT, connections, first snapshot), seconds at most. */
export const WARM_UP_SECONDS = 1;

/** The election timeout of the bench's clusters, ms: long enough that a loaded 2-core machine does not hold elections. */
export const ELECTION_TIMEOUT_MS = 500;

/** The keys every load cycles through (`k0000`..`k1023`), so the state, and each snapshot, stays small. */
export const KEYS = 1024;
export const keyOf = (n: number): string => `k${String(n % KEYS).padStart(4, '0')}`;
