/** Helpers for reading values out of a parsed YAML document, shared by the configuration readers. */

/** Reports a mistake under `key`; never returns. */
export type Fail = (key: string, message: string) => never;

/** Why a file could not be read, in words. */
export function errnoReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(error);
}

/** A YAML node as plain JavaScript (scalars, lists and mappings alike). */
export function toJs(node: unknown): unknown {
  return node !== null && typeof node === 'object' && 'toJSON' in node ? (node as { toJSON(): unknown }).toJSON() : node;
}

/** A value, as an error message names what it got. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
