import { CliError, expectOk, parseJsonArgument, requestNode } from '../client.ts';

const keyPath = (key: string): string => `/kv/${encodeURIComponent(key)}`;

/** `graft kv set KEY JSON`: prints the log index of the write. */
export async function kvSet(cluster: string, key: string, json: string): Promise<void> {
  const value = parseJsonArgument('JSON', json);
  const body = expectOk(await requestNode(cluster, 'PUT', keyPath(key), value), `set ${key}`);
  console.log(`OK index=${String(body['index'])}`);
}

/** `graft kv get KEY [--stale]`: prints the value as JSON. A missing key is an error (exit 1). */
export async function kvGet(cluster: string, key: string, stale: boolean): Promise<void> {
  const answer = await requestNode(cluster, 'GET', `${keyPath(key)}${stale ? '?consistency=stale' : ''}`);
  if (answer.status === 404) throw new CliError(`key ${JSON.stringify(key)} not found`);
  console.log(JSON.stringify(expectOk(answer, `get ${key}`)['value']));
}

/** `graft kv del KEY`. */
export async function kvDelete(cluster: string, key: string): Promise<void> {
  const body = expectOk(await requestNode(cluster, 'DELETE', keyPath(key)), `delete ${key}`);
  console.log(`OK index=${String(body['index'])}`);
}

/** `graft kv cas KEY EXPECTED NEW`: prints whether the swap happened; exit 1 when it did not. */
export async function kvCompareAndSet(cluster: string, key: string, expectedJson: string, newJson: string): Promise<void> {
  const expected = parseJsonArgument('EXPECTED_JSON', expectedJson);
  const value = parseJsonArgument('NEW_JSON', newJson);
  const body = expectOk(await requestNode(cluster, 'POST', `${keyPath(key)}/cas`, { expected, value }), `cas ${key}`);
  if (body['ok'] !== true) throw new CliError(`cas ${key}: the current value is not ${expectedJson}; nothing changed`);
  console.log('OK');
}
