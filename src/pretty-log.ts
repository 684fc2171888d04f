/** Fields of a pino record that the text line shows in its own place, or leaves out. */
const PLACED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'node', 'component']);

/**
 * One pino record (a parsed JSON line) as a line for a person to read:
 * `2026-11-24T12:00:00.000Z WARN [node 1/transport] message key=value key2="with space" list=["a","b"]`.
 * The scope in brackets comes from the `node` and `component` bindings; pid and hostname, the same on
 * every line, are left out; every other field follows the message as key=value.
 */
export function prettyLogLine(record: Record<string, unknown>): string {
  const scope = [record['node'] === undefined ? null : `node ${text(record['node'])}`, record['component'] === undefined ? null : text(record['component'])]
    .filter((part) => part !== null)
    .join('/');
  const fields = Object.entries(record)
    .filter(([key]) => !PLACED.has(key))
    .map(([key, value]) => ` ${key}=${typeof value === 'string' ? quoted(value) : text(value)}`)
    .join('');
  const level = typeof record['level'] === 'string' ? record['level'].toUpperCase() : text(record['level']);
  return `${text(record['time'])} ${level}${scope === '' ? '' : ` [${scope}]`} ${text(record['msg'] ?? '')}${fields}`;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** A string, quoted when a reader could not tell where it ends (other values are JSON, which shows its own ends). */
function quoted(value: string): string {
  return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
}
