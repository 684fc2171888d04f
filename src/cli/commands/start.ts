import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { clusterConfigFromObject, formatAddress, loadClusterConfig, type ClusterConfig } from '../../config.ts';
import { createLogger, type Logger } from '../../logger.ts';
import { apps, type AppName } from '../apps.ts';
import { expectOk, nodeAddress, requestNode, type Member } from '../client.ts';
import { CliError, UnreachableError, UsageError } from '../errors.ts';
import { useFallbackTls, useFallbackToken } from '../credentials.ts';
import { changeMembership } from './member.ts';

/** The configuration file `graft start` reads when `--config` is not given, if the working directory has one. */
export const DEFAULT_CONFIG_FILE = 'cluster.yaml';

/** The timeouts of a node that joins a cluster with no configuration file: those of the cluster.yaml of `npm start`. */
const DEFAULT_TIMEOUTS = { electionTimeout: 150, heartbeatInterval: 50 } as const;

/** The options of `graft start`. */
export interface StartOptions {
  /** The configuration file; default DEFAULT_CONFIG_FILE when it exists. */
  readonly config?: string;
  readonly id: string;
  /** Where this machine listens when the configuration does not list it. */
  readonly address?: string;
  /** A member of a running cluster, through which this machine asks to be added. */
  readonly join?: string;
  readonly dataDir?: string;
  readonly app: AppName;
}

/**
 * `graft start`: runs one node of an app (default kvstore) in the foreground until SIGINT, SIGTERM,
 * `graft stop`, or its removal from the cluster. A machine the configuration file does not list
 * listens on `--address`; with `--join` it asks the cluster's leader to add it, once it listens.
 */
export async function start(options: StartOptions): Promise<void> {
  // An operator runs this node: what it does is worth telling (info), unless GRAFT_LOG_LEVEL says otherwise.
  const logger = createLogger({ bindings: { node: options.id }, defaultLevel: 'info' });
  const { config, outsiderAddress } = await configure(options, logger);
  const app = apps[options.app];
  // A node started from the command line always keeps its state on disk.
  const dataDir = resolve(options.dataDir ?? config.dataDir ?? 'data');
  const node = await app.start({ config, id: options.id, dataDir, logger, ...(outsiderAddress === undefined ? {} : { address: outsiderAddress }) });
  logger.info(
    { address: node.address, app: options.app, data: resolve(dataDir, options.id) },
    `listening on ${node.address} (peers on /raft, clients on ${app.clientPaths})`,
  );

  const joining = new AbortController();
  const shutdown = (signal: string): void => {
    logger.info(`${signal} received, stopping`);
    joining.abort();
    void node.stop();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  // A removed machine serves no one: it stops. Not at once, so that the answer to the request that
  // removed it (when it led) goes out, and a leader hands over before it leaves.
  node.graft.once('removed', (index) => {
    logger.info({ index }, `stopping: this machine is no longer a member (removed by the configuration at index ${index})`);
    joining.abort();
    setTimeout(() => void node.stop(), 2 * config.electionTimeout);
  });

  const outcome: { joinFailure: Error | null } = { joinFailure: null };
  let joined: Promise<void> = Promise.resolve();
  if (options.join !== undefined) {
    const via = nodeAddress('--join', options.join);
    const body = { id: options.id, address: node.address };
    joined = changeMembership(via, 'POST', '/admin/members', body, `join the cluster at ${via}`, { signal: joining.signal, attempts: 10 }).then(
      (members) => logger.info({ via }, `joined the cluster as a ${members.find((m) => m.id === options.id)?.role ?? 'member'}`),
      (error: Error) => {
        if (joining.signal.aborted) return;
        outcome.joinFailure = error;
        logger.error({ error: error.message }, 'could not join the cluster; stopping');
        void node.stop();
      },
    );
  } else if (!node.graft.status().members.some((m) => m.id === options.id)) {
    logger.info(`not a member of the cluster (yet): waiting to be added (graft member add ${options.id} ${node.address} --cluster HOST:PORT)`);
  }

  const failure = await node.stopped;
  joining.abort();
  await joined;
  if (failure !== null) {
    // Exit now and non-zero, whatever is still open, so a supervisor restarts the node.
    console.error(`graft: node ${options.id} stopped after a fatal error: ${failure.message}`);
    process.exit(1);
  }
  logger.info('stopped');
  if (outcome.joinFailure !== null) throw new CliError(`node ${options.id} did not join the cluster: ${outcome.joinFailure.message}`);
}

/**
 * The configuration this node starts with, and its address when the configuration does not list it.
 * Without `--join`: the file's. With `--join`: the file's timeouts and options (or defaults, without a
 * file) and the members of the running cluster, as the node at the join address lists them.
 */
async function configure(options: StartOptions, logger: Logger): Promise<{ config: ClusterConfig; outsiderAddress: string | undefined }> {
  const { id } = options;
  const file = configFile(options);
  const fileConfig = file === null ? null : loadClusterConfig(file);
  // A joining machine asks with the cluster's own token, unless --token-file or GRAFT_TOKEN gives one.
  if (fileConfig !== null) useFallbackToken(fileConfig.clientToken, `clientTokenFile of ${file}`);
  // And over TLS with the node's own certificate, unless --ca, --cert and --key (or GRAFT_CA, ...) say otherwise.
  if (fileConfig !== null) useFallbackTls(fileConfig.tls, file!);
  const address = options.address === undefined ? undefined : nodeAddress('--address', options.address);
  const listedInFile = fileConfig?.members.get(id);
  const fileAddress = listedInFile === undefined ? undefined : formatAddress(listedInFile);
  if (fileAddress !== undefined && address !== undefined && address !== fileAddress) {
    throw new UsageError(`--address ${address} is not the address of machine ${id} in ${file}, ${fileAddress}; leave --address out, or correct it`);
  }

  if (options.join === undefined) {
    // configFile() found a file: only --join goes without one.
    const config = fileConfig!;
    if (fileAddress === undefined && address === undefined) {
      throw new UsageError(
        `machine id "${id}" is not in ${file} (members: ${[...config.members.keys()].join(', ')}): give --address HOST:PORT, where this machine listens, ` +
          'to start it outside the configuration (a machine added to the cluster earlier, or to be added), or --join HOST:PORT as well to join a running cluster',
      );
    }
    return { config, outsiderAddress: fileAddress === undefined ? address : undefined };
  }

  const join = nodeAddress('--join', options.join);
  const members = await clusterMembers(join);
  const inCluster = members.find((m) => m.id === id);
  const clusterAddress = inCluster === undefined ? undefined : nodeAddress('a member address', inCluster.address);
  if (clusterAddress !== undefined) {
    // A member already (a restart with --join): it listens where the cluster says.
    for (const [what, other] of [
      ['--address', address],
      [`its address in ${file}`, fileAddress],
    ] as const) {
      if (other !== undefined && other !== clusterAddress) {
        throw new UsageError(`machine ${id} is a member of the cluster at ${join} with the address ${clusterAddress}, but ${what} is ${other}`);
      }
    }
  }
  const own = clusterAddress ?? fileAddress ?? address;
  if (own === undefined) {
    throw new UsageError(
      `machine id "${id}" is ${file === null ? 'in no configuration file' : `not in ${file}`}: give --address HOST:PORT, where this machine listens, to join the cluster`,
    );
  }
  if (fileConfig === null) {
    logger.warn(
      `no configuration file: electionTimeout ${DEFAULT_TIMEOUTS.electionTimeout} ms, heartbeatInterval ${DEFAULT_TIMEOUTS.heartbeatInterval} ms; ` +
        "give --config with the cluster's file to use its timeouts and options",
    );
  }
  const config = clusterConfigFromObject(
    {
      electionTimeout: fileConfig?.electionTimeout ?? DEFAULT_TIMEOUTS.electionTimeout,
      heartbeatInterval: fileConfig?.heartbeatInterval ?? DEFAULT_TIMEOUTS.heartbeatInterval,
      // The voters, as in a file; learners are in the cluster's log, which this node is sent.
      configuration: Object.fromEntries(members.filter((m) => m.role !== 'learner').map((m) => [m.id, m.address])),
      ...(fileConfig === null || fileConfig.dataDir === null ? {} : { dataDir: fileConfig.dataDir }), // already absolute
      ...(fileConfig === null ? {} : { readMode: fileConfig.readMode, snapshot: { ...fileConfig.snapshot }, allowedOrigins: fileConfig.allowedOrigins }),
      ...(fileConfig === null || fileConfig.clientTokenFile === null ? {} : { clientTokenFile: fileConfig.clientTokenFile }), // already absolute
      ...(fileConfig === null || fileConfig.secretFile === null ? {} : { secretFile: fileConfig.secretFile }),
      ...(fileConfig === null || fileConfig.tls === null
        ? {}
        : { tls: { cert: fileConfig.tls.certFile, key: fileConfig.tls.keyFile, ca: fileConfig.tls.caFile } }), // already absolute
    },
    `the cluster at ${join}`,
  );
  // A learner, or a machine not added yet, is outside this configuration: it listens on its own address.
  return { config, outsiderAddress: config.members.has(id) ? undefined : own };
}

/** The file to read: `--config`, else DEFAULT_CONFIG_FILE if it exists; null for a node that joins without one. */
function configFile(options: StartOptions): string | null {
  if (options.config !== undefined) return options.config;
  if (existsSync(DEFAULT_CONFIG_FILE)) return DEFAULT_CONFIG_FILE;
  if (options.join !== undefined) return null;
  throw new UsageError(
    `no --config given and no ${DEFAULT_CONFIG_FILE} in ${process.cwd()}: give --config FILE, or --join HOST:PORT to join a running cluster`,
  );
}

/** The members of the running cluster, as the node at `join` lists them in `/status`. */
async function clusterMembers(join: string): Promise<Member[]> {
  let answer;
  try {
    answer = await requestNode(join, 'GET', '/status');
  } catch (error) {
    if (error instanceof UnreachableError) throw new CliError(`cannot reach the cluster at ${join}: ${error.reason}`);
    throw error;
  }
  const members = expectOk(answer, `status of ${join}`)['members'];
  const valid = Array.isArray(members) && members.every((m: Member) => typeof m?.id === 'string' && typeof m.address === 'string');
  if (!valid || members.length === 0) throw new CliError(`${join} lists no members in its /status: is it a node of a running cluster?`);
  return members as Member[];
}
