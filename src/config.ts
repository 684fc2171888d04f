import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, parseDocument, stringify, type Pair } from 'yaml';
import { clusterSecret, readClientTokenFile, tlsConfig, type TlsConfig } from './config-credentials.ts';
import { describe, errnoReason, toJs, type Fail } from './config-values.ts';
import type { Configuration } from './core/membership.ts';
import { CLUSTER_ID } from './core/configuration-format.ts';
import { GraftError } from './errors.ts';

export { clientTokenProblem, MIN_CLIENT_TOKEN_LENGTH, type TlsConfig } from './config-credentials.ts';
export { errnoReason } from './config-values.ts';

/** Where a member listens: peers and clients alike. */
export interface PeerAddress {
  /** A host name or IP address. */
  readonly host: string;
  /** A TCP port, 1 to 65535. */
  readonly port: number;
}

/** The cluster as `cluster.yaml` describes it: who is in it and how it is timed. */
export interface ClusterConfig {
  /** Base election timeout, ms; each node waits a random time in [t, 2t). */
  readonly electionTimeout: number;
  /** How often a leader sends heartbeats, ms. Default: floor(electionTimeout / 3). */
  readonly heartbeatInterval: number;
  /** Machine id -> address, in the file's order. */
  readonly members: ReadonlyMap<string, PeerAddress>;
  /** Where nodes keep their files (each under dataDir/<id>), resolved against the file's directory; null when absent. */
  readonly dataDir: string | null;
  /**
   * How reads are confirmed: 'read-index' (a heartbeat round per batch of reads, thesis §6.4) or
   * 'lease' (no round while the leader holds a lease, thesis §6.4.1; assumes clock rates within 10%).
   * Cluster-wide: voters hold off elections after a restart only in lease mode, which the lease needs.
   */
  readonly readMode: ReadMode;
  /** When nodes snapshot their state machine and compact their log; the defaults where the file says nothing. */
  readonly snapshot: SnapshotPolicy;
  /**
   * The web origins (`scheme://host[:port]`) whose pages may call a kvstore node's HTTP API; a request
   * that carries any other `Origin` header is refused. Empty when absent: browsers are not clients.
   */
  readonly allowedOrigins: readonly string[];
  /** The file holding the client token, resolved against the file's directory; null when absent. */
  readonly clientTokenFile: string | null;
  /**
   * The token every client of a kvstore node's HTTP API must send (`Authorization: Bearer <token>`),
   * read from `clientTokenFile` when the configuration was loaded; null when there is none.
   */
  readonly clientToken: string | null;
  /**
   * The cluster secret every peer connection proves knowledge of, both ways, before any message
   * passes: read from `secretFile`, else from the environment variable GRAFT_CLUSTER_SECRET; null
   * when there is neither (the peer protocol is then open to anyone who reaches a node's port).
   */
  readonly secret: string | null;
  /** The file `secret` was read from, resolved against the file's directory; null when it came from the environment or there is none. */
  readonly secretFile: string | null;
  /**
   * TLS for everything on the node's port (`tls` in cluster.yaml): peers over wss:// and clients over
   * https://, each side presenting a certificate signed by the cluster CA. Null when absent: plain
   * ws:// and http://.
   */
  readonly tls: TlsConfig | null;
  /**
   * The id the cluster must have: a node refuses a data directory holding another cluster's log, and
   * peers of another cluster. Null when absent: the first leader then picks a random one.
   */
  readonly clusterId: string | null;
  /** The file it came from, or '<inline>'. */
  readonly source: string;
}

/** How a leader confirms it still leads before a read: a heartbeat round (`read-index`) or its lease (`lease`). See the README, "Reads". */
export type ReadMode = 'read-index' | 'lease';
const READ_MODES: readonly ReadMode[] = ['read-index', 'lease'];

/** When a node takes a snapshot of its state machine and compacts its log (Raft §7). */
export interface SnapshotPolicy {
  /** Take a snapshot once this many entries were applied since the last one. Default 10000. */
  readonly entries: number;
  /** Or once the applied entries since the last one hold this many bytes of data. Default 67108864 (64 MiB). */
  readonly bytes: number;
  /** How many snapshot files each node keeps (the newest, and older ones to fall back on if it is damaged). Default 2. */
  readonly keep: number;
}
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { entries: 10_000, bytes: 64 * 1024 * 1024, keep: 2 };
const SNAPSHOT_KEYS = ['entries', 'bytes', 'keep'] as const;

/** The port of an address written as a bare host name. */
export const DEFAULT_PORT = 7070;

/** The top-level keys a cluster file may hold. */
export const CLUSTER_FILE_KEYS = [
  'electionTimeout',
  'heartbeatInterval',
  'configuration',
  'dataDir',
  'readMode',
  'snapshot',
  'allowedOrigins',
  'clientTokenFile',
  'secretFile',
  'clusterId',
  'tls',
] as const;

const ID_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** Reads and validates a cluster file. Every mistake is a CONFIG_INVALID GraftError naming the file, the key and what was expected. */
export function loadClusterConfig(path: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GraftError('CONFIG_INVALID', `${path}: cannot read the cluster configuration: ${errnoReason(error)}`);
  }
  return parseClusterConfig(text, path);
}

/** Validates the text of a cluster file; `source` names it in errors and anchors a relative dataDir and clientTokenFile. */
export function parseClusterConfig(text: string, source = '<inline>'): ClusterConfig {
  return parseConfigText(text, source, source === '<inline>' ? process.cwd() : dirname(source));
}

/** Validates configuration text; `source` names it in errors, and a relative dataDir or clientTokenFile is taken from `baseDir`. */
function parseConfigText(text: string, source: string, baseDir: string): ClusterConfig {
  const fail = (key: string, message: string): never => {
    throw new GraftError('CONFIG_INVALID', `${source}: ${key === '' ? '' : `${key}: `}${message}`);
  };
  const doc = parseDocument(text, { uniqueKeys: false });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const line = syntax.linePos?.[0]?.line;
    fail('', `not valid YAML${line === undefined ? '' : ` (line ${line})`}: ${syntax.message.split('\n')[0]}`);
  }
  // Aliases are resolved only when read: one that names no anchor, or too many of them (an alias
  // bomb), throws then, so read the whole document once here and say it is not valid YAML.
  try {
    doc.toJS();
  } catch (error) {
    fail('', `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isMap(doc.contents)) fail('', `expected a mapping with the keys ${CLUSTER_FILE_KEYS.join(', ')}, got ${describe(doc.toJS())}`);
  const top = new Map<string, unknown>();
  for (const pair of (doc.contents as { items: Pair[] }).items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!(CLUSTER_FILE_KEYS as readonly string[]).includes(key)) fail(key, `unknown key; the keys are ${CLUSTER_FILE_KEYS.join(', ')}`);
    if (top.has(key)) fail(key, 'appears twice');
    top.set(key, pair.value);
  }

  const electionTimeout = integer(top, 'electionTimeout', 10, fail, true)!;
  const heartbeatInterval = integer(top, 'heartbeatInterval', 1, fail, false) ?? Math.max(1, Math.floor(electionTimeout / 3));
  if (heartbeatInterval >= electionTimeout) {
    fail('heartbeatInterval', `${heartbeatInterval} must be below electionTimeout (${electionTimeout}), or no follower would hear a heartbeat in time`);
  }

  const configuration = top.get('configuration');
  if (configuration === undefined) fail('configuration', 'missing; expected a mapping of machine id to host:port');
  if (!isMap(configuration)) fail('configuration', `expected a mapping of machine id to host:port, got ${describe(toJs(configuration))}`);
  const members = new Map<string, PeerAddress>();
  const owners = new Map<string, string>();
  for (const pair of (configuration as { items: Pair[] }).items) {
    const rawId = isScalar(pair.key) ? pair.key.value : pair.key;
    const id = typeof rawId === 'number' || typeof rawId === 'string' ? String(rawId) : '';
    if (!ID_PATTERN.test(id)) fail(`configuration.${String(rawId)}`, 'a machine id must be a number or a string of letters, digits, "_", "." or "-"');
    if (members.has(id)) fail(`configuration.${id}`, `machine id ${id} appears twice (1: and "1": name the same machine)`);
    const value = isScalar(pair.value) ? pair.value.value : toJs(pair.value);
    if (typeof value !== 'string') fail(`configuration.${id}`, `expected an address "host:port" or a host name, got ${describe(value)}`);
    let address: PeerAddress;
    try {
      address = parseAddress(value as string);
    } catch (error) {
      return fail(`configuration.${id}`, `${JSON.stringify(value)} is not a valid address: ${(error as Error).message}`);
    }
    const formatted = formatAddress(address);
    const owner = owners.get(endpointKey(address));
    if (owner !== undefined) {
      const theirs = formatAddress(members.get(owner)!);
      const how = theirs === formatted ? '' : ` (${theirs}, written another way)`;
      fail(`configuration.${id}`, `address ${formatted} is already the address of machine ${owner}${how}; every member needs its own`);
    }
    owners.set(endpointKey(address), id);
    members.set(id, address);
  }
  if (members.size === 0) fail('configuration', 'no members; list at least one machine id with its address');

  const rawDataDir = top.get('dataDir');
  let dataDir: string | null = null;
  if (rawDataDir !== undefined) {
    const value = isScalar(rawDataDir) ? rawDataDir.value : toJs(rawDataDir);
    if (typeof value !== 'string' || value === '') fail('dataDir', `expected a directory path, got ${describe(value)}`);
    dataDir = resolve(baseDir, value as string);
  }
  const rawReadMode = top.get('readMode');
  let readMode: ReadMode = 'read-index';
  if (rawReadMode !== undefined) {
    const value = isScalar(rawReadMode) ? rawReadMode.value : toJs(rawReadMode);
    if (!(READ_MODES as readonly unknown[]).includes(value)) fail('readMode', `expected ${READ_MODES.join(' or ')}, got ${describe(value)}`);
    readMode = value as ReadMode;
  }
  const snapshot = snapshotPolicy(top.get('snapshot'), fail);
  const allowedOrigins = origins(top.get('allowedOrigins'), fail);
  const rawTokenFile = top.get('clientTokenFile');
  let clientTokenFile: string | null = null;
  let clientToken: string | null = null;
  if (rawTokenFile !== undefined) {
    const value = isScalar(rawTokenFile) ? rawTokenFile.value : toJs(rawTokenFile);
    if (typeof value !== 'string' || value === '') fail('clientTokenFile', `expected the path of a file holding the client token, got ${describe(value)}`);
    clientTokenFile = resolve(baseDir, value as string);
    clientToken = readClientTokenFile(clientTokenFile, (message) => fail('clientTokenFile', message));
  }
  const rawSecretFile = top.get('secretFile');
  const secretFile = rawSecretFile === undefined ? null : resolve(baseDir, String(isScalar(rawSecretFile) ? rawSecretFile.value : ''));
  const secret = clusterSecret(rawSecretFile, baseDir, fail);
  const tls = tlsConfig(top.get('tls'), baseDir, fail);
  const clusterId = clusterIdOf(top.get('clusterId'), fail);
  return {
    electionTimeout,
    heartbeatInterval,
    members,
    dataDir,
    readMode,
    snapshot,
    allowedOrigins,
    clientTokenFile,
    clientToken,
    secret,
    secretFile,
    clusterId,
    tls,
    source,
  };
}

/**
 * What `cluster.yaml` holds, as a plain object, for a configuration kept somewhere other than a file:
 * `{ electionTimeout: 150, configuration: { 1: '127.0.0.1:9001', ... } }`. Relative `dataDir` and
 * `clientTokenFile` paths are taken from the working directory.
 */
export interface ClusterConfigObject {
  /** Base election timeout, ms; each node waits a random time in [t, 2t). */
  readonly electionTimeout: number;
  /** How often a leader sends heartbeats, ms. Default: floor(electionTimeout / 3). */
  readonly heartbeatInterval?: number;
  /** Machine id -> `host:port` (or a bare host name, port 7070) of every voting member. */
  readonly configuration: Readonly<Record<string, string>>;
  /** Where nodes keep their files, each under `<dataDir>/<id>`; relative to the working directory. */
  readonly dataDir?: string;
  /** How reads are confirmed. Default `read-index`. */
  readonly readMode?: ReadMode;
  /** When nodes snapshot and compact their log; each key optional, see `SnapshotPolicy` for the defaults. */
  readonly snapshot?: { readonly entries?: number; readonly bytes?: number; readonly keep?: number };
  /** The web origins whose pages may call a kvstore node's HTTP API, e.g. `['https://dashboard.example.com']`. */
  readonly allowedOrigins?: readonly string[];
  /** The file holding the token clients of a kvstore node's HTTP API must send; relative to the working directory. */
  readonly clientTokenFile?: string;
  /** The file holding the cluster secret peers authenticate each other with; relative to the working directory. */
  readonly secretFile?: string;
  /** PEM files of this node's certificate, its key and the cluster CA: TLS for peers and clients. Relative to the working directory. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** The id the cluster must have (letters, digits, `.`, `_`, `-`; at most 64). Default: the first leader picks one. */
  readonly clusterId?: string;
}

/** Validates a configuration given as a plain object, with the same rules and messages as a file. */
export function clusterConfigFromObject(value: ClusterConfigObject, source = '<object>'): ClusterConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GraftError('CONFIG_INVALID', `${source}: expected an object with the keys ${CLUSTER_FILE_KEYS.join(', ')}, got ${describe(value)}`);
  }
  return parseConfigText(stringify(value), source, process.cwd());
}

/** Whether `value` is an already validated configuration rather than a plain object to validate. */
export function isClusterConfig(value: ClusterConfig | ClusterConfigObject): value is ClusterConfig {
  return (value as ClusterConfig).members instanceof Map;
}

/** Parses `host:port`, `[v6]:port`, or a bare host (DEFAULT_PORT). */
export function parseAddress(text: string): PeerAddress {
  const trimmed = text.trim();
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(trimmed);
  const [host, portText] =
    v6 !== null
      ? [v6[1] ?? '', v6[2]]
      : trimmed.includes(':')
        ? [trimmed.slice(0, trimmed.lastIndexOf(':')), trimmed.slice(trimmed.lastIndexOf(':') + 1)]
        : [trimmed, undefined];
  if (host === '' || /[\s/]/.test(host)) throw new Error('expected host:port or a host name');
  if (portText === undefined) return { host, port: DEFAULT_PORT };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new Error('port must be an integer from 1 to 65535');
  return { host, port };
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatAddress(address: PeerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Names that always mean this machine's own loopback interface. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1']);

/**
 * The same for two addresses that reach the same endpoint however they are written: host names
 * compared without case or a trailing dot, IPv6 in its canonical form, and `localhost`, `127.0.0.1`
 * and `::1` as one. No name is looked up: two different names of one machine are not caught.
 */
export function endpointKey(address: PeerAddress): string {
  let host = address.host.toLowerCase().replace(/\.$/, '');
  if (host.includes(':')) {
    try {
      host = new URL(`http://[${host}]/`).hostname.slice(1, -1);
    } catch {
      // Not a valid IPv6 address: compared as written.
    }
  }
  return `${LOOPBACK.has(host) ? 'loopback' : host}|${address.port}`;
}

/** Whether two `host:port` texts reach the same endpoint (endpointKey); false when either is not an address. */
export function sameEndpoint(a: string, b: string): boolean {
  try {
    return endpointKey(parseAddress(a)) === endpointKey(parseAddress(b));
  } catch {
    return false;
  }
}

/** Throws CONFIG_INVALID unless `id` is a member of `config`. */
export function validateMachineId(config: ClusterConfig, id: string): void {
  if (!config.members.has(id)) {
    throw new GraftError(
      'CONFIG_INVALID',
      `machine id "${id}" is not in the configuration of ${config.source} (members: ${[...config.members.keys()].join(', ')})`,
    );
  }
}

function integer(top: Map<string, unknown>, key: string, min: number, fail: Fail, required: boolean): number | undefined {
  const node = top.get(key);
  if (node === undefined) {
    if (required) fail(key, `missing; expected an integer number of milliseconds, at least ${min}`);
    return undefined;
  }
  const value = isScalar(node) ? node.value : toJs(node);
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(key, `expected an integer number of milliseconds, got ${describe(value)}`);
  if ((value as number) < min) fail(key, `${String(value)} is too small; expected at least ${min} ms`);
  return value as number;
}

function snapshotPolicy(node: unknown, fail: Fail): SnapshotPolicy {
  if (node === undefined) return DEFAULT_SNAPSHOT_POLICY;
  if (!isMap(node)) fail('snapshot', `expected a mapping with the keys ${SNAPSHOT_KEYS.join(', ')}, got ${describe(toJs(node))}`);
  const values = new Map<string, number>();
  for (const pair of (node as { items: Pair[] }).items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const key = `snapshot.${name}`;
    if (!(SNAPSHOT_KEYS as readonly string[]).includes(name)) fail(key, `unknown key; the keys are ${SNAPSHOT_KEYS.join(', ')}`);
    if (values.has(name)) fail(key, 'appears twice');
    const value = isScalar(pair.value) ? pair.value.value : toJs(pair.value);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) fail(key, `expected a whole number of at least 1, got ${describe(value)}`);
    values.set(name, value as number);
  }
  return { ...DEFAULT_SNAPSHOT_POLICY, ...Object.fromEntries(values) };
}

function origins(node: unknown, fail: Fail): string[] {
  if (node === undefined) return [];
  const value = toJs(node);
  const expected = 'a list of web origins, scheme://host[:port], e.g. ["https://dashboard.example.com"]';
  if (!Array.isArray(value)) return fail('allowedOrigins', `expected ${expected}, got ${describe(value)}`);
  return value.map((item: unknown, i) => {
    const key = `allowedOrigins[${i}]`;
    if (typeof item !== 'string') return fail(key, `expected an origin "scheme://host[:port]", got ${describe(item)}`);
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {
      // reported below
    }
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      return fail(key, `${JSON.stringify(item)} is not a web origin; expected "http://host[:port]" or "https://host[:port]"`);
    }
    // Browsers send the origin in this form (lower-case host, no default port, no path): anything else would never match.
    if (url.origin !== item) return fail(key, `${JSON.stringify(item)} is not an origin as browsers send it; write ${JSON.stringify(url.origin)}`);
    return item;
  });
}

/**
 * The configuration a cluster starts with: every member of the file a voter. Once the cluster runs,
 * its log holds the configuration, and this is used only by a node whose log holds none yet.
 */
export function bootstrapConfiguration(config: ClusterConfig, cluster: string): Configuration {
  const voters = [...config.members.keys()].sort();
  const addresses = Object.fromEntries(voters.map((id) => [id, formatAddress(config.members.get(id)!)]));
  return { voters, outgoing: [], learners: [], addresses, cluster };
}

/** `clusterId`: absent, or an id of the form CLUSTER_ID. */
function clusterIdOf(node: unknown, fail: Fail): string | null {
  if (node === undefined) return null;
  const value = isScalar(node) ? node.value : toJs(node);
  if (typeof value !== 'string' || !CLUSTER_ID.test(value)) {
    fail('clusterId', `expected a cluster id (1 to 64 letters, digits, ".", "_" or "-", beginning with a letter or digit), got ${describe(value)}`);
  }
  return value as string;
}
