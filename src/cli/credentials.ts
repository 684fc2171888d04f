import { readFileSync } from 'node:fs';
import { clientTokenProblem, errnoReason, type TlsConfig } from '../config.ts';
import { CliError, UsageError } from './errors.ts';

/**
 * What the CLI proves itself with: the client token and the TLS files, from the command line, the
 * environment, or (for `graft start --join`) the cluster file, read once when first needed.
 */

/** The environment variable that holds the client token, when `--token-file` is not given. */
export const TOKEN_VARIABLE = 'GRAFT_TOKEN';

/** The client token the CLI sends, and where it came from (for messages; never the token itself). */
interface ClientToken {
  readonly token: string;
  readonly source: string;
}

/** Where the token comes from: `--token-file`, else GRAFT_TOKEN, else `fallbackToken`. Read when first needed. */
const tokenSource: { file: string | undefined; fallback: ClientToken | null; loaded: ClientToken | null | undefined } = {
  file: undefined,
  fallback: null,
  loaded: undefined,
};

/** The global option `--token-file PATH`: the file holding the token every request sends. It wins over GRAFT_TOKEN. */
export function useTokenFile(path: string | undefined): void {
  tokenSource.file = path;
  tokenSource.loaded = undefined;
}

/**
 * A token to send when neither `--token-file` nor GRAFT_TOKEN gives one: that of the cluster file a
 * joining node was started with, whose cluster has the same token. `source` names it in messages.
 */
export function useFallbackToken(token: string | null, source: string): void {
  tokenSource.fallback = token === null ? null : { token, source };
  tokenSource.loaded = undefined;
}

/** The token requests carry: from `--token-file`, else GRAFT_TOKEN, else the fallback; null for none. A CliError when it cannot be used. */
export function clientToken(): ClientToken | null {
  if (tokenSource.loaded !== undefined) return tokenSource.loaded;
  let found: ClientToken | null = tokenSource.fallback;
  if (tokenSource.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenSource.file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read --token-file ${tokenSource.file}: ${errnoReason(error)}`);
    }
    found = { token: text.trim(), source: `--token-file ${tokenSource.file}` };
  } else {
    const variable = process.env[TOKEN_VARIABLE]?.trim();
    if (variable !== undefined && variable !== '') found = { token: variable, source: TOKEN_VARIABLE };
  }
  const problem = found === null ? null : clientTokenProblem(found.token);
  if (problem !== null) throw new CliError(`${found!.source}: ${problem}`);
  tokenSource.loaded = found;
  return found;
}

/** The environment variables that name the CLI's TLS files when `--ca`, `--cert` and `--key` are not given. */
export const TLS_VARIABLES = { ca: 'GRAFT_CA', cert: 'GRAFT_CERT', key: 'GRAFT_KEY' } as const;

/** One PEM file of the CLI's TLS identity, and where it was named (for messages). */
interface TlsPart {
  readonly pem: string;
  readonly source: string;
}

/** How the CLI speaks TLS: the CA nodes' certificates must chain to, and its own certificate and key (absent: it presents none). */
export interface ClientTls {
  readonly ca: TlsPart;
  readonly cert: TlsPart | null;
  readonly key: TlsPart | null;
}

/** Where the TLS files come from: the options, else the environment, else `fallback`. Read when first needed. */
const tlsSource: {
  files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined };
  fallback: { tls: TlsConfig; source: string } | null;
  loaded: ClientTls | null | undefined;
} = { files: {}, fallback: null, loaded: undefined };

/** The global options `--ca`, `--cert` and `--key`: PEM files; each wins over its environment variable (TLS_VARIABLES). */
export function useTlsFiles(files: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }): void {
  tlsSource.files = files;
  tlsSource.loaded = undefined;
}

/**
 * TLS files to use when neither the options nor the environment name any: those of the cluster file
 * a joining node was started with (its own certificate, signed by the cluster CA, serves as a client's).
 */
export function useFallbackTls(tls: TlsConfig | null, source: string): void {
  tlsSource.fallback = tls === null ? null : { tls, source };
  tlsSource.loaded = undefined;
}

/**
 * The TLS the CLI speaks, or null for plain HTTP: with a CA (`--ca`, GRAFT_CA, or the fallback) it
 * speaks HTTPS, presenting `--cert` and `--key` when given. A CliError when a file cannot be used,
 * a UsageError for a certificate without its key (or the other way round), or either without a CA.
 */
export function clientTls(): ClientTls | null {
  if (tlsSource.loaded !== undefined) return tlsSource.loaded;
  const named = (part: 'ca' | 'cert' | 'key'): { file: string; source: string } | null => {
    const option = tlsSource.files[part];
    if (option !== undefined) return { file: option, source: `--${part} ${option}` };
    const variable = process.env[TLS_VARIABLES[part]]?.trim();
    return variable === undefined || variable === '' ? null : { file: variable, source: `${TLS_VARIABLES[part]}=${variable}` };
  };
  const files = { ca: named('ca'), cert: named('cert'), key: named('key') };
  let loaded: ClientTls | null;
  if (files.ca === null && files.cert === null && files.key === null) {
    const fallback = tlsSource.fallback;
    loaded =
      fallback === null
        ? null
        : {
            ca: { pem: fallback.tls.ca, source: `tls.ca of ${fallback.source}` },
            cert: { pem: fallback.tls.cert, source: `tls.cert of ${fallback.source}` },
            key: { pem: fallback.tls.key, source: `tls.key of ${fallback.source}` },
          };
  } else {
    if ((files.cert === null) !== (files.key === null)) {
      throw new UsageError(
        `${(files.cert ?? files.key)!.source} needs its ${files.cert === null ? 'certificate, --cert' : 'key, --key'} (or ${files.cert === null ? TLS_VARIABLES.cert : TLS_VARIABLES.key})`,
      );
    }
    if (files.ca === null) {
      throw new UsageError(`${(files.cert ?? files.key)!.source} needs --ca (or ${TLS_VARIABLES.ca}): the CA that signed the nodes' certificates`);
    }
    const read = (found: { file: string; source: string } | null, header: RegExp, what: string): TlsPart | null => {
      if (found === null) return null;
      let pem: string;
      try {
        pem = readFileSync(found.file, 'utf8');
      } catch (error) {
        throw new CliError(`cannot read ${found.source}: ${errnoReason(error)}`);
      }
      if (!header.test(pem)) throw new CliError(`${found.source} is not PEM holding ${what}`);
      return { pem, source: found.source };
    };
    loaded = {
      ca: read(files.ca, /-----BEGIN CERTIFICATE-----/, 'a certificate ("-----BEGIN CERTIFICATE-----")')!,
      cert: read(files.cert, /-----BEGIN CERTIFICATE-----/, 'a certificate ("-----BEGIN CERTIFICATE-----")'),
      key: read(files.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key ("-----BEGIN ... PRIVATE KEY-----")'),
    };
  }
  tlsSource.loaded = loaded;
  return loaded;
}
