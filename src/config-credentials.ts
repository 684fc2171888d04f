import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { isMap, isScalar, type Pair } from 'yaml';
import { describe, errnoReason, toJs, type Fail } from './config-values.ts';

/**
 * The secrets a cluster file points to: the client token, the cluster secret and the TLS files, each
 * read when the configuration is loaded, so a missing or weak one stops the node at once, naming
 * the key and the file.
 */

/** The fewest characters a client token may have. */
export const MIN_CLIENT_TOKEN_LENGTH = 16;

/**
 * A node's TLS identity and the cluster CA, as PEM text read from the files of cluster.yaml's `tls`
 * when the configuration was loaded. The same three serve the node as a server (to peers and
 * clients) and as a client (dialing peers).
 */
export interface TlsConfig {
  /** This node's certificate (and any intermediate certificates after it). */
  readonly cert: string;
  /** Its private key, unencrypted. */
  readonly key: string;
  /** The cluster CA: every peer's and every client's certificate must chain to it. */
  readonly ca: string;
  /** The files they came from, resolved against the cluster file's directory. */
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}
const TLS_KEYS = ['cert', 'key', 'ca'] as const;

/**
 * What is wrong with `token` as a client token (too short, or holding characters an HTTP header
 * cannot carry), or null when it will do.
 */
export function clientTokenProblem(token: string, what = 'a client token'): string | null {
  if (token.length < MIN_CLIENT_TOKEN_LENGTH) {
    return `the token is ${token.length === 0 ? 'empty' : `${token.length} characters long`}; ${what} needs at least ${MIN_CLIENT_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`;
  }
  if (!/^[\x21-\x7e]+$/.test(token)) return 'the token may hold only printable ASCII characters, without spaces (e.g. openssl rand -hex 32)';
  return null;
}

/**
 * The cluster secret: from `secretFile` (resolved against `baseDir`), else GRAFT_CLUSTER_SECRET,
 * else null. The same rules as a client token: at least 16 printable characters.
 */
export function clusterSecret(raw: unknown, baseDir: string, fail: Fail): string | null {
  if (raw === undefined) {
    const fromEnvironment = process.env['GRAFT_CLUSTER_SECRET']?.trim();
    if (fromEnvironment === undefined || fromEnvironment === '') return null;
    const problem = clientTokenProblem(fromEnvironment, 'a cluster secret');
    if (problem !== null) fail('secretFile', `none given, and GRAFT_CLUSTER_SECRET will not do: ${problem.replace('the token', 'it')}`);
    return fromEnvironment;
  }
  const value = isScalar(raw) ? raw.value : toJs(raw);
  if (typeof value !== 'string' || value === '') fail('secretFile', `expected the path of a file holding the cluster secret, got ${describe(value)}`);
  return readClientTokenFile(resolve(baseDir, value as string), (message) => fail('secretFile', message), 'a cluster secret');
}

/**
 * The `tls` mapping: three PEM files (cert, key, ca), resolved against `baseDir` and read now, so a
 * missing or wrong file stops the node at once, naming the key and the file. The check is loose
 * (PEM headers of the right kind, and that the key and certificate load together), not a validation
 * of the chain: a peer finds out about that at its first handshake.
 */
export function tlsConfig(node: unknown, baseDir: string, fail: Fail): TlsConfig | null {
  if (node === undefined) return null;
  const expected = `a mapping with the keys ${TLS_KEYS.join(', ')}, each the path of a PEM file`;
  if (!isMap(node)) return fail('tls', `expected ${expected}, got ${describe(toJs(node))}`);
  const paths = new Map<string, string>();
  for (const pair of (node as { items: Pair[] }).items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const key = `tls.${name}`;
    if (!(TLS_KEYS as readonly string[]).includes(name)) fail(key, `unknown key; the keys are ${TLS_KEYS.join(', ')}`);
    if (paths.has(name)) fail(key, 'appears twice');
    const value = isScalar(pair.value) ? pair.value.value : toJs(pair.value);
    if (typeof value !== 'string' || value === '') fail(key, `expected the path of a PEM file, got ${describe(value)}`);
    paths.set(name, resolve(baseDir, value as string));
  }
  const what = { cert: "this node's certificate", key: "this node's private key", ca: 'the cluster CA certificate' } as const;
  const read = (name: (typeof TLS_KEYS)[number]): { file: string; pem: string } => {
    const file = paths.get(name);
    if (file === undefined) return fail(`tls.${name}`, `missing; expected the path of a PEM file holding ${what[name]} (tls needs cert, key and ca)`);
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      return fail(`tls.${name}`, `cannot read ${file}: ${errnoReason(error)}`);
    }
    const header = name === 'key' ? /-----BEGIN [A-Z ]*PRIVATE KEY-----/ : /-----BEGIN CERTIFICATE-----/;
    if (!header.test(pem)) {
      const kind = name === 'key' ? 'a private key ("-----BEGIN ... PRIVATE KEY-----")' : 'a certificate ("-----BEGIN CERTIFICATE-----")';
      fail(`tls.${name}`, `${file} is not PEM holding ${kind}; expected ${what[name]}`);
    }
    return { file, pem };
  };
  const cert = read('cert');
  const key = read('key');
  const ca = read('ca');
  try {
    createSecureContext({ cert: cert.pem, key: key.pem, ca: ca.pem });
  } catch (error) {
    fail('tls', `${cert.file} and ${key.file} cannot be used together: ${(error as Error).message}`);
  }
  return { cert: cert.pem, key: key.pem, ca: ca.pem, certFile: cert.file, keyFile: key.file, caFile: ca.file };
}

/** The client token (or cluster secret) in `path`, trimmed; `fail` is called with why it cannot be used (unreadable, too short). */
export function readClientTokenFile(path: string, fail: (message: string) => never, what = 'a client token'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return fail(`cannot read ${path}: ${errnoReason(error)}`);
  }
  const token = text.trim();
  const problem = clientTokenProblem(token, what);
  if (problem !== null) fail(`${path}: ${problem}`);
  return token;
}
