import type { LatencySummary } from './histogram.ts';
import type { SerializerName } from './rows.ts';

/** What one run of load measured. */
export interface LoadResult {
  /** Operations that completed (answered without error). */
  readonly ops: number;
  /** Operations that failed (each is retried after a short pause, as a new operation). */
  readonly errors: number;
  /** From the first operation sent to the last answer, ms. */
  readonly elapsedMs: number;
  readonly latency: LatencySummary;
}

/** The load a bench node runs on itself: `concurrency` proposers, each awaiting its operation before sending the next. */
export interface LoadParams {
  readonly concurrency: number;
  readonly seconds: number;
  /** The length of each operation as the serializer writes it, bytes. */
  readonly opBytes: number;
}

/** A bench node's view of the cluster. */
export interface NodeView {
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
}

/** The calls a bench node (node.ts) serves. */
export type NodeProtocol = {
  /** Starts this node's GraftInstance; resolves once it listens for its peers. */
  start: {
    params: {
      readonly id: string;
      readonly configuration: Readonly<Record<string, string>>;
      readonly electionTimeout: number;
      readonly dataDir: string;
      readonly serializer: SerializerName;
    };
    result: null;
  };
  view: { params: object; result: NodeView };
  /** Runs the load through `applyOperation` here; answers with what it measured, this process's RSS, and whether it led throughout. */
  load: { params: LoadParams; result: LoadResult & { readonly rssBytes: number; readonly ledThroughout: boolean } };
  /** Stops the GraftInstance (the process exits when the bench disconnects). */
  stop: { params: object; result: null };
};

/** The calls a loopback probe process (pingpong.ts) serves. */
export type PingPongProtocol = {
  /** Starts an echo server on a free loopback port; answers with the port. */
  listen: { params: object; result: number };
  /** Sends one message of `bytes` at a time to the echo server at `port` for `seconds`, timing each round trip. */
  roundTrip: { params: { readonly port: number; readonly bytes: number; readonly seconds: number }; result: LatencySummary };
  /** Keeps `window` messages of `bytes` in flight to the echo server at `port` for `seconds`; answers with echoes per second. */
  rate: { params: { readonly port: number; readonly bytes: number; readonly window: number; readonly seconds: number }; result: number };
};

/** The calls a replication skeleton's process (skeleton-process.ts) serves. */
export type SkeletonProtocol = {
  /** Opens the file `name` in `dir` and a WebSocket server on a free loopback port; answers with the port. */
  follow: { params: { readonly dir: string; readonly name: string }; result: number };
  /** Connects to the followers at `ports` and makes one write of `bytes` at a time for `seconds`, timing each. */
  lead: { params: { readonly ports: readonly number[]; readonly dir: string; readonly bytes: number; readonly seconds: number }; result: LatencySummary };
};
