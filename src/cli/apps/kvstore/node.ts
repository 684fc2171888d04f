import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { formatAddress, parseAddress } from '../../../config.ts';
import type { ClusterConfig, Logger } from '../../../index.ts';
import { createLogger } from '../../../logger.ts';
import { mutualTlsServerOptions } from '../../../transport/ws/tls.ts';
import { createHttpHandler } from './http-api.ts';
import { KVStore } from './kv-store.ts';

/** A running kvstore node: its store, its server, and how to stop both. */
export interface KvNode {
  readonly store: KVStore;
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

/**
 * Starts one kvstore node: an HTTP server on the member's own address that serves the client API
 * and carries the peers' WebSocket connections on `/raft`, one port for everything. A machine that
 * `config` does not list (one to be added to a running cluster, or added before) needs `address`,
 * where it listens (GraftOptions.address).
 *
 * The API serves whom the configuration allows: clients that send its `clientToken` (anyone, without
 * one: the node then says so in a warning), and web pages of its `allowedOrigins` only. With `tls`
 * the port speaks HTTPS only, and every client, peer or not, must present a certificate signed by
 * the cluster CA (mutual TLS, as etcd's client-cert-auth).
 */
export async function startKvNode(options: {
  config: ClusterConfig;
  id: string;
  address?: string;
  dataDir?: string;
  logger?: Logger;
  requestTimeoutMs?: number;
}): Promise<KvNode> {
  const { config, id } = options;
  const listed = config.members.get(id);
  if (listed === undefined && options.address === undefined) {
    throw new Error(`machine id ${id} is not in the configuration of ${config.source}; give the address it listens on`);
  }
  if (listed !== undefined && options.address !== undefined && formatAddress(parseAddress(options.address)) !== formatAddress(listed)) {
    throw new Error(`machine id ${id} listens on ${formatAddress(listed)} in the configuration of ${config.source}, not on ${options.address}`);
  }
  const address = listed ?? parseAddress(options.address!);
  const logger = options.logger ?? createLogger(`node ${id}`);
  const server = config.tls === null ? createServer() : createHttpsServer(mutualTlsServerOptions(config.tls));
  const store = new KVStore({
    config,
    machineId: id,
    server,
    // Only for a machine outside the configuration: one it lists has its address there.
    ...(listed === undefined ? { address: formatAddress(address) } : {}),
    logger,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await store.graft.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })());
  // The server closes last, however the stop began; a node that stopped on its own closes it too.
  let failure: Error | null = null;
  store.graft.once('stopped', (error) => {
    failure = error;
    void stop();
  });
  const stopped = new Promise<Error | null>((resolve) => server.once('close', () => resolve(failure)));
  server.on(
    'request',
    createHttpHandler(store, () => void stop(), { allowedOrigins: config.allowedOrigins, clientToken: config.clientToken }),
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
      `the HTTP API is open: anyone who can reach ${formatAddress(address)} can read and write keys, change the members and stop this node; ` +
        'set clientTokenFile in cluster.yaml to require a token',
    );
  } else if (config.clientToken === null) {
    logger.info('the HTTP API serves every client with a certificate of the cluster CA (set clientTokenFile in cluster.yaml to require a token too)');
  }
  return { store, server, address: formatAddress(address), stop, stopped };
}
