import { readFile } from 'node:fs/promises';
import { MAX_BODY_BYTES } from '../apps/kvstore/http-api.ts';
import { expectOk, requestNode } from '../client.ts';
import { CliError } from '../errors.ts';
import { parseJsonArgument, parseJsonInput } from '../json-input.ts';
import { print } from '../output.ts';

const keyPath = (key: string): string => `/kv/${encodeURIComponent(key)}`;

/**
 * Where a command's JSON value comes from. A value on the command line is limited by the OS to about
 * 128 KiB, far below what a node accepts; a file or standard input carries values up to the node's limit.
 */
export type ValueSource =
  { readonly kind: 'argument'; readonly name: string; readonly text: string } | { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdin' };

/** `graft kv set KEY (JSON | - | --file PATH)`: prints the log index of the write. */
export async function kvSet(cluster: string, key: string, source: ValueSource): Promise<void> {
  const value = await readValue(source);
  checkBodySize(`set ${key}`, 'the value is', value);
  const body = expectOk(await requestNode(cluster, 'PUT', keyPath(key), value), `set ${key}`);
  print({ ok: true, index: body['index'] }, () => [`OK index=${String(body['index'])}`]);
}

/** `graft kv get KEY [--stale]`: prints the value as JSON. A missing key is an error (exit 1). */
export async function kvGet(cluster: string, key: string, stale: boolean): Promise<void> {
  const answer = await requestNode(cluster, 'GET', `${keyPath(key)}${stale ? '?consistency=stale' : ''}`);
  if (answer.status === 404) throw new CliError(`key ${JSON.stringify(key)} not found`);
  const value = expectOk(answer, `get ${key}`)['value'];
  print({ key, value }, () => [JSON.stringify(value)]);
}

/** `graft kv del KEY`. */
export async function kvDelete(cluster: string, key: string): Promise<void> {
  const body = expectOk(await requestNode(cluster, 'DELETE', keyPath(key)), `delete ${key}`);
  print({ ok: true, index: body['index'] }, () => [`OK index=${String(body['index'])}`]);
}

/** `graft kv cas KEY EXPECTED (NEW | - | --file PATH)`: prints whether the swap happened; exit 1 when it did not. */
export async function kvCompareAndSet(cluster: string, key: string, expectedJson: string, source: ValueSource): Promise<void> {
  const expected = parseJsonArgument('EXPECTED_JSON', expectedJson);
  const value = await readValue(source);
  const request = { expected, value };
  checkBodySize(`cas ${key}`, 'the expected and new values together are', request);
  const body = expectOk(await requestNode(cluster, 'POST', `${keyPath(key)}/cas`, request), `cas ${key}`);
  if (body['ok'] !== true) throw new CliError(`cas ${key}: the current value is not ${expectedJson}; nothing changed`);
  print({ ok: true }, () => ['OK']);
}

/** The JSON value from `source`; CliErrors name the file or standard input and what is wrong. */
async function readValue(source: ValueSource): Promise<unknown> {
  switch (source.kind) {
    case 'argument':
      return parseJsonArgument(source.name, source.text);
    case 'file': {
      const what = `value file ${source.path}`;
      let bytes: Buffer;
      try {
        bytes = await readFile(source.path);
      } catch (error) {
        throw new CliError(`cannot read ${what}: ${errnoReason(error)}`);
      }
      return parseJsonInput(what, decodeUtf8(what, bytes));
    }
    case 'stdin': {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      } catch (error) {
        throw new CliError(`cannot read standard input: ${errnoReason(error)}`);
      }
      return parseJsonInput('standard input', decodeUtf8('standard input', Buffer.concat(chunks)));
    }
  }
}

/** Decodes UTF-8 (dropping a byte-order mark), refusing bytes that are not UTF-8 rather than sending U+FFFD in their place. */
function decodeUtf8(what: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`${what} is not valid UTF-8 text`);
  }
}

/** "ENOENT: no such file or directory" out of Node's "ENOENT: no such file or directory, open 'x'". */
function errnoReason(error: unknown): string {
  return (error as Error).message.replace(/, \w+(?: '.*')?$/s, '');
}

/**
 * Refuses a request the node would refuse with 413 (`MAX_BODY_BYTES`), before uploading it: the
 * node's answer would only come after the upload, or the connection would be cut mid-body.
 */
function checkBodySize(what: string, subject: string, body: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > MAX_BODY_BYTES) {
    throw new CliError(`${what}: ${subject} ${bytes} bytes as JSON; a node accepts at most ${MAX_BODY_BYTES} bytes (${MAX_BODY_BYTES / 1024 / 1024} MiB)`);
  }
}
