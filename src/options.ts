import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { Server as TlsServer } from 'node:tls';
import type { Registry, RegistryContentType } from 'prom-client';
import {
  clusterConfigFromObject,
  formatAddress,
  isClusterConfig,
  parseAddress,
  validateMachineId,
  type ClusterConfig,
  type ClusterConfigObject,
  type PeerAddress,
} from './config.ts';
import type { LogPosition, Sabotage } from './core/raft.ts';
import type { NodeId, Rng } from './core/types.ts';
import { GraftError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { DurationObserver } from './metrics/hooks.ts';
import type { Clock } from './runtime/clock.ts';
import type { Serializer } from './serializer.ts';
import { FileStorage } from './storage/file/file-storage.ts';
import { MemoryStorage } from './storage/memory.ts';
import type { Storage } from './storage/storage.ts';
import type { Transport } from './transport/transport.ts';

/** How to build a GraftInstance. Only `config`, `machineId`, `applicator` and `serializer` are required. */
export interface GraftOptions<Op, Result> {
  /** The cluster: members, timeouts. From `loadClusterConfig(file)`, or a plain object as cluster.yaml would hold it. */
  readonly config: ClusterConfig | ClusterConfigObject;
  /** This node's id; a member of `config` (`1` and `'1'` name the same machine), unless `address` is given. */
  readonly machineId: string | number;
  /**
   * Where this machine listens (`host:port`) when `config` does not list it: a machine to be added to
   * a running cluster (`addMember` on its leader). It starts outside the configuration, takes no part
   * in elections, and waits to be sent the log; `config` then serves for its timeouts and as a list of
   * machines to reach. Once the cluster's log has added it, a restart needs only the same `address`.
   */
  readonly address?: string;
  /** How long `addMember` waits for a new member to catch up before promoting it. Default 60,000 ms. */
  readonly catchUpTimeoutMs?: number;
  /** Applies one committed operation to the state machine; called once per entry, in log order, on every node. Must be deterministic. */
  readonly applicator: (op: Op, position: LogPosition) => Result;
  /** Turns operations into text for the log and the wire, and back. */
  readonly serializer: Serializer<Op>;
  /**
   * Captures the state machine for a snapshot (Raft §7), so the log can be compacted. Called between
   * two applicator calls: capture the state before returning (copy it, or freeze it), then stream its
   * bytes from the returned iterable while applying goes on. Give `restore` with it. Without the two,
   * no snapshot is ever taken and the log grows without bound.
   */
  readonly snapshot?: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /**
   * Replaces the whole state machine with a snapshot's state, the bytes `snapshot` streamed: at start
   * (the newest snapshot on disk) and when the leader sends one to a follower that fell behind.
   * The applicator is not called while it runs.
   */
  readonly restore?: (data: AsyncIterable<Uint8Array>) => Promise<void> | void;
  /**
   * Where the log and hard state live. Default: files under `<dataDir>/<machineId>` when a data
   * directory is given (here or in the config), else memory (lost when the process ends).
   */
  readonly storage?: Storage;
  /** The cluster's data directory; overrides `config.dataDir`. */
  readonly dataDir?: string;
  /** How messages reach peers. Default: WebSockets on this member's address. */
  readonly transport?: Transport;
  /**
   * An HTTP server of yours to share: peers connect to its `/raft` path; you listen on it. With `tls`
   * in the configuration it must be an HTTPS server with the same certificate, key and CA, that
   * requires client certificates (`requestCert: true, rejectUnauthorized: true`).
   */
  readonly server?: Server | HttpsServer;
  /** How long `applyOperation` waits before rejecting with TIMEOUT_OUTCOME_UNKNOWN. Default 5000 ms. */
  readonly requestTimeoutMs?: number;
  /**
   * At most this many `applyOperation` calls of this instance wait for their outcome at once; the
   * next is refused at once with OVERLOADED rather than queued. Default 10,000.
   */
  readonly maxPendingOperations?: number;
  /** At most this many characters of serialized operations wait at once (one operation alone always may). Default 64 MiB. */
  readonly maxPendingBytes?: number;
  /** While leading, refuse proposals with OVERLOADED once this many entries await a quorum. Default 100,000. */
  readonly maxUncommittedEntries?: number;
  /**
   * Where log lines go: a `pino()` logger of yours (or a child of one), or anything with its
   * `debug`/`info`/`warn`/`error(context?, message)` and `child(bindings)`. Default: `createLogger`
   * to standard error, quiet (level `warn` unless GRAFT_LOG_LEVEL says otherwise).
   */
  readonly logger?: Logger;
  /** Pre-vote before elections, so a node coming back from a partition does not disrupt the leader (thesis §9.6). Default true. */
  readonly preVote?: boolean;
  /** A leader that loses touch with a quorum steps down within an election timeout (thesis §6.2). Default true. */
  readonly checkQuorum?: boolean;
  /**
   * The prom-client registry to put this instance's metrics in (`graft_term`, `graft_commits_total`,
   * ...): your application's, to serve them beside its own. Default: a registry of the instance's
   * own. Either way `GraftInstance.metrics` is where they are. One instance per registry: the names
   * would clash.
   */
  readonly metricsRegistry?: Registry<RegistryContentType>;
}

/**
 * What Graft's own tests set beside the options: time and chance, so a simulation replays from its
 * seed, and a deliberate bug, so a test can show its checks catch it. Not exported from the package's
 * entry: production code never needs it.
 */
export interface TestKnobs {
  /** Timers; a manual clock in simulations. */
  readonly clock?: Clock;
  /** Randomness for election timeouts; a seeded one makes runs repeatable. */
  readonly rng?: Rng;
  /** Breaks one protocol rule on purpose. */
  readonly sabotage?: Sabotage | 'apply-duplicates';
}

/**
 * Checks what the compiler cannot (callers in JavaScript, or options built at run time) and returns
 * the validated configuration. Every mistake is a GraftError naming the option.
 */
export function validateOptions<Op, Result>(options: GraftOptions<Op, Result>): ClusterConfig {
  const invalid = (message: string): never => {
    throw new GraftError('CONFIG_INVALID', `GraftInstance options: ${message}`);
  };
  if (typeof options !== 'object' || options === null) invalid('expected an object');
  if (typeof options.config !== 'object' || options.config === null) invalid('config is required: loadClusterConfig(file), or an object as cluster.yaml holds');
  const config = isClusterConfig(options.config) ? options.config : clusterConfigFromObject(options.config, 'GraftInstance options.config');
  if (typeof options.machineId !== 'string' && typeof options.machineId !== 'number')
    invalid(`machineId must be a string or a number, got ${typeof options.machineId}`);
  if (options.address === undefined) validateMachineId(config, String(options.machineId));
  else validateOutsider(config, String(options.machineId), options.address, invalid);
  if (typeof options.applicator !== 'function') invalid('applicator must be a function (op, position) => result');
  const serializer = options.serializer as Partial<Serializer<Op>> | undefined;
  if (typeof serializer?.toString !== 'function' || typeof serializer.fromString !== 'function' || serializer.toString === Object.prototype.toString) {
    invalid('serializer is required: superjsonSerializer(), jsonSerializer(), or an object with toString(op) and fromString(text)');
  }
  if ((options.snapshot === undefined) !== (options.restore === undefined)) invalid('snapshot and restore go together: give both hooks, or neither');
  for (const hook of ['snapshot', 'restore'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') invalid(`${hook} must be a function`);
  }
  if (options.server !== undefined && options.transport === undefined && (config.tls !== null) !== options.server instanceof TlsServer) {
    invalid(
      config.tls === null
        ? 'server is an HTTPS server, but the configuration has no tls: peers would dial it over plain ws://'
        : 'server must be an HTTPS server (https.createServer) with the certificates of the configuration, which has tls',
    );
  }
  const registry = options.metricsRegistry as Partial<Registry> | undefined;
  if (registry !== undefined && (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function')) {
    invalid('metricsRegistry must be a prom-client Registry (new Registry() from prom-client)');
  }
  for (const limit of ['maxPendingOperations', 'maxPendingBytes', 'maxUncommittedEntries', 'requestTimeoutMs', 'catchUpTimeoutMs'] as const) {
    const value = options[limit];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) invalid(`${limit} must be a whole number of at least 1, got ${String(value)}`);
  }
  if (config.readMode === 'lease' && options.checkQuorum === false) {
    throw new GraftError('CONFIG_INVALID', 'readMode "lease" needs checkQuorum: without it, voters do not hold off elections while the leader is alive');
  }
  return config;
}

/** A machine outside `config` must not reuse a member's id or address. */
function validateOutsider(config: ClusterConfig, id: string, address: unknown, invalid: (message: string) => never): void {
  if (config.members.has(id)) invalid(`machine id "${id}" is in the configuration of ${config.source}; address is only for a machine outside it`);
  if (typeof address !== 'string') invalid(`address must be "host:port", got ${typeof address}`);
  let parsed: PeerAddress;
  try {
    parsed = parseAddress(address as string);
  } catch (error) {
    return invalid(`address: ${(error as Error).message}`);
  }
  for (const [member, other] of config.members) {
    if (formatAddress(other) === formatAddress(parsed)) invalid(`address ${address as string} is the address of member ${member}`);
  }
}

/** The address this machine listens on: its entry in `config`, or `address` for a machine outside it. */
export function ownAddress(config: ClusterConfig, id: NodeId, address: string | undefined): PeerAddress {
  return config.members.get(id) ?? parseAddress(address!);
}

/** Files under `<dataDir>/<id>` when there is a data directory, memory otherwise. */
export function defaultStorage(config: ClusterConfig, id: NodeId, dataDir: string | null, logger: Logger, syncDurations?: DurationObserver): Storage {
  if (dataDir === null) {
    logger.warn('no data directory: this node keeps its log in memory, and nothing survives a restart (set dataDir to keep it)');
    return new MemoryStorage();
  }
  return new FileStorage({
    dir: join(dataDir, id),
    identity: { machineId: id, members: [...config.members.keys()].sort() },
    keepSnapshots: config.snapshot.keep,
    logger: logger.child({ component: 'storage' }),
    ...(syncDurations === undefined ? {} : { syncDurations }),
  });
}
