import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { formatAddress, parseAddress } from '../../../config.ts';
import type { ClusterConfig, GraftEvents, GraftInstance, GraftOptions, Logger } from '../../../index.ts';
import { createLogger } from '../../../logger.ts';
import { mutualTlsServerOptions } from '../../../transport/ws/tls.ts';
import { Dashboard, type WatchedGraft } from './dashboard/dashboard.ts';
import { createNodeHttpHandler, kvRoutes, type AppRoutes, type NodeGraft } from './http-api.ts';
import { KVStore } from './kv-store.ts';

/** A running kvstore node: its store, its server, and how to stop both. */
export interface KvNode extends AppNode {
  readonly store: KVStore;
}

/** A running node of an app: its server, and how to stop it. */
export interface AppNode {
  /** HTTP, or HTTPS when the configuration has `tls`. */
  readonly server: Server | HttpsServer;
  /** Where it listens, `host:port`: its entry in the configuration, or the address it was given. */
  readonly address: string;
  stop(): Promise<void>;
  /**
   * Resolves once the node has stopped and its server closed: with null after `stop()` or a client's
   * `POST /admin/stop`, or with the error that made the node stop on its own (a failed disk).
   */
  readonly stopped: Promise<Error | null>;
}

/** How to start a node of an app: which member of which cluster, and where its files go. */
export interface AppNodeOptions {
  readonly config: ClusterConfig;
  readonly id: string;
  readonly address?: string;
  readonly dataDir?: string;
  readonly logger?: Logger;
  readonly requestTimeoutMs?: number;
}

/** The GraftInstance options a node gives the app's state machine, which adds its own (applicator, serializer, snapshot hooks). */
export type HostedGraftOptions = Pick<GraftOptions<never, never>, 'config' | 'machineId' | 'server' | 'address' | 'logger' | 'dataDir' | 'requestTimeoutMs'>;

/** What a node uses of the app's GraftInstance: its endpoints, its dashboard, starting and stopping it. */
export type HostingGraft = NodeGraft &
  WatchedGraft &
  Pick<GraftInstance<unknown, unknown>, 'start' | 'stop'> & {
    once<E extends keyof GraftEvents>(event: E, listener: (...args: GraftEvents[E]) => void): unknown;
  };

/** An app as a node hosts it: how to make its state machine, and the endpoints of its own. */
export interface HostedApp<S extends { readonly graft: HostingGraft; failure?(): Error | null }> {
  open(options: HostedGraftOptions): S;
  routes(state: S): AppRoutes;
  /** What a client may do with the app, for the warning of an open API: "read and write keys". */
  readonly clientsMay: string;
}

/** Starts one kvstore node (see startAppNode). */
export async function startKvNode(options: AppNodeOptions): Promise<KvNode> {
  const { state, ...node } = await startAppNode(options, {
    open: (graftOptions) => new KVStore(graftOptions),
    routes: (store) => (req, url) => kvRoutes(store, req, url),
    clientsMay: 'read and write keys',
  });
  return { ...node, store: state };
}

/**
 * Starts one node of an app: an HTTP server on the member's own address that serves the client API
 * and carries the peers' WebSocket connections on `/raft`, one port for everything. A machine that
 * `config` does not list (one to be added to a running cluster, or added before) needs `address`,
 * where it listens (GraftOptions.address).
 *
 * The API serves whom the configuration allows: clients that send its `clientToken` (anyone, without
 * one: the node then says so in a warning), and web pages of its `allowedOrigins` only. With `tls`
 * the port speaks HTTPS only, and every client, peer or not, must present a certificate signed by
 * the cluster CA (mutual TLS, as etcd's client-cert-auth).
 */
export async function startAppNode<S extends { readonly graft: HostingGraft; failure?(): Error | null }>(
  options: AppNodeOptions,
  app: HostedApp<S>,
): Promise<AppNode & { readonly state: S }> {
  const { config, id } = options;
  const listed = config.members.get(id);
  if (listed === undefined && options.address === undefined) {
    throw new Error(`machine id ${id} is not in the configuration of ${config.source}; give the address it listens on`);
  }
  if (listed !== undefined && options.address !== undefined && formatAddress(parseAddress(options.address)) !== formatAddress(listed)) {
    throw new Error(`machine id ${id} listens on ${formatAddress(listed)} in the configuration of ${config.source}, not on ${options.address}`);
  }
  const address = listed ?? parseAddress(options.address!);
  const logger = options.logger ?? createLogger({ bindings: { node: id }, defaultLevel: 'info' });
  const server = config.tls === null ? createServer() : createHttpsServer(mutualTlsServerOptions(config.tls));
  const store = app.open({
    config,
    machineId: id,
    server,
    // Only for a machine outside the configuration: one it lists has its address there.
    ...(listed === undefined ? { address: formatAddress(address) } : {}),
    logger,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  // Created before the node starts, so that its first election is among the dashboard's events.
  const dashboard = new Dashboard(store.graft, {
    credentials: { tls: config.tls, clientToken: config.clientToken },
    onError: (error) => logger.warn(`the dashboard could not sample the cluster: ${error.message}`),
  });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      dashboard.close();
      await store.graft.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })());
  // The server closes last, however the stop began; a node that stopped on its own closes it too.
  let failure: Error | null = null;
  store.graft.once('stopped', (error) => {
    // The node's own fault (its disk), or its state machine's, which stopped it (a SQLite copy that failed).
    failure = error ?? store.failure?.() ?? null;
    void stop();
  });
  const stopped = new Promise<Error | null>((resolve) => server.once('close', () => resolve(failure)));
  server.on(
    'request',
    createNodeHttpHandler(
      store.graft,
      app.routes(store),
      () => void stop(),
      { allowedOrigins: config.allowedOrigins, clientToken: config.clientToken },
      dashboard,
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await store.graft.start();
  } catch (error) {
    // A node that cannot start (its data directory is refused, say) must not keep the port open.
    await stop();
    throw error;
  }
  if (config.clientToken === null && config.tls === null) {
    logger.warn(
      `the HTTP API is open: anyone who can reach ${formatAddress(address)} can ${app.clientsMay}, change the members and stop this node; ` +
        'set clientTokenFile in cluster.yaml to require a token',
    );
  } else if (config.clientToken === null) {
    logger.info('the HTTP API serves every client with a certificate of the cluster CA (set clientTokenFile in cluster.yaml to require a token too)');
  }
  return { state: store, server, address: formatAddress(address), stop, stopped };
}
