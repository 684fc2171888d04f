import { expectOk, requestNode, type NodeAnswer } from '../client.ts';
import { CliError } from '../errors.ts';
import { parseJsonArgument } from '../json-input.ts';
import { print } from '../output.ts';
import { formatTable } from '../table.ts';

/** `graft command SQL [--params JSON]`: one statement that writes, on every node; prints its changes and the rowid it inserted. */
export async function sqlCommand(cluster: string, sql: string, paramsJson: string | undefined): Promise<void> {
  const body = expectSql(await requestNode(cluster, 'POST', '/sql/command', { sql, params: paramsOf(paramsJson) }), cluster, 'command');
  const { changes, lastInsertRowid } = body;
  print({ changes, lastInsertRowid }, () => [`OK changes=${String(changes)} lastInsertRowid=${String(lastInsertRowid)}`]);
}

/** `graft query SQL [--params JSON]`: one statement that reads, linearizably; prints its rows as a table. */
export async function sqlQuery(cluster: string, sql: string, paramsJson: string | undefined): Promise<void> {
  const body = expectSql(await requestNode(cluster, 'POST', '/sql/query', { sql, params: paramsOf(paramsJson) }), cluster, 'query');
  const columns = body['columns'] as string[];
  const rows = body['rows'] as unknown[][];
  print({ columns, rows }, () => [
    ...formatTable(
      columns,
      rows.map((row) => row.map(cellText)),
    ),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
  ]);
}

/** The `--params` JSON: an array for `?` placeholders, an object for `:name` ones. */
function paramsOf(json: string | undefined): unknown {
  if (json === undefined) return [];
  const params = parseJsonArgument('--params', json);
  if (typeof params !== 'object' || params === null) {
    throw new CliError(`--params must be a JSON array (for ? placeholders) or object (for :name placeholders), got ${json}`);
  }
  return params;
}

/** The answer's body; a CliError with the node's message when it refused, and a hint when the node does not run the sqlite app. */
function expectSql(answer: NodeAnswer, cluster: string, what: string): Record<string, unknown> {
  if (answer.status === 404) throw new CliError(`${cluster} does not serve SQL: is the cluster running the sqlite app (graft start --app sqlite)?`);
  return expectOk(answer, what);
}

/** A value as a table shows it: NULL, a BLOB as x'hex', text on one line. */
function cellText(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'object' && 'blob' in value) return `x'${Buffer.from(String(value.blob), 'base64').toString('hex')}'`;
  return String(value).replace(/\r?\n/g, '\\n');
}
