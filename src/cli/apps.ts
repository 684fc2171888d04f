import type { ClusterConfig, GraftEvents, GraftStatus, Logger } from '../index.ts';

/** What `graft start` watches of a node's GraftInstance, whatever the app's operations. */
export interface HostedGraft {
  status(): GraftStatus;
  once<E extends keyof GraftEvents>(event: E, listener: (...args: GraftEvents[E]) => void): unknown;
}

/** One running node of an app, as `graft start` holds it. */
export interface HostedNode {
  /** Where it listens, `host:port`: for peers on `/raft` and for clients. */
  readonly address: string;
  /** Its GraftInstance, whose events and status `graft start` watches (a removal from the cluster, say). */
  readonly graft: HostedGraft;
  /** Stops the node and closes its port; safe to call twice. */
  stop(): Promise<void>;
  /**
   * Resolves once the node has stopped and its port closed: with null after `stop()` or a client's
   * request to stop, or with the error that made the node stop on its own (a failed disk).
   */
  readonly stopped: Promise<Error | null>;
}

/**
 * An app `graft start` can host: a state machine made replicated with a `GraftInstance`, serving its
 * clients on the node's own port (peers use `/raft` on the same port).
 */
export interface App {
  /** One line for `graft start --help`. */
  readonly description: string;
  /** What clients call, for the startup line, e.g. `/kv and /status`. */
  readonly clientPaths: string;
  /** A first command to try, for `graft up` to suggest (`--cluster` follows it), e.g. `graft kv set greeting '"hello"'`. */
  readonly firstCommand: string;
  /**
   * Starts node `id` of `config`, keeping its files under `<dataDir>/<id>`; resolves once it listens.
   * A machine `config` does not list listens on `address` (GraftOptions.address): one to be added to
   * a running cluster, or one added earlier whose log holds the configuration with it.
   */
  start(options: { config: ClusterConfig; id: string; address?: string; dataDir: string; logger: Logger }): Promise<HostedNode>;
}

/**
 * The apps `graft start --app NAME` can host. Each is loaded only when it is started, so the client
 * commands (`graft kv`, `graft status`) do not load it.
 */
export const apps = {
  kvstore: {
    description: 'a replicated key-value store with an HTTP JSON API',
    clientPaths: '/kv and /status, the dashboard on /',
    firstCommand: `graft kv set greeting '"hello"'`,
    start: async (options) => {
      const node = await (await import('./apps/kvstore/node.ts')).startKvNode(options);
      return { address: node.address, graft: node.store.graft, stop: node.stop, stopped: node.stopped };
    },
  },
  sqlite: {
    description: 'a replicated SQLite database with an HTTP JSON API (needs better-sqlite3)',
    clientPaths: '/sql/command, /sql/query and /status, the dashboard on /',
    firstCommand: `graft command "CREATE TABLE greeting (text)"`,
    start: async (options) => {
      const node = await (await import('./apps/sqlite/node.ts')).startSqlNode(options);
      return { address: node.address, graft: node.store.graft, stop: node.stop, stopped: node.stopped };
    },
  },
} as const satisfies Record<string, App>;

/** The name of an app in `apps`. */
export type AppName = keyof typeof apps;

/** The app `graft start` and `graft up` host when no `--app` is given. */
export const DEFAULT_APP: AppName = 'kvstore';
