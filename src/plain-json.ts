/** Keys superjson refuses (prototype pollution): a value holding one is left to superjson, which throws. */
const REFUSED_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** How deep a value is walked before it is left to superjson: the walk must not exhaust the stack. */
const MAX_DEPTH = 64;

/**
 * Whether superjson would write `value` as plain JSON, with no annotations: null, booleans, strings,
 * finite numbers but -0, and arrays and plain objects of those, each reached once (superjson annotates
 * a shared reference) and without holes. Then `JSON.stringify({ json: value })` is exactly what
 * `superjson.stringify` writes, without its general walk, which took a fifth of a busy leader's time.
 * Anything else (a Date, a Map, undefined, a class instance, a toJSON method) is for superjson.
 */
export function isPlainJson(value: unknown): boolean {
  return plain(value, 0, { objects: null });
}

/**
 * The objects met below the top, to tell a shared reference. Made only once a value holds an object
 * inside another: most operations are one flat object, and a Set for each was a tenth of what a busy
 * leader allocated. The top object needs no entry: reached again, it is met below the top, and the
 * path that led to it leads to it once more.
 */
interface Seen {
  objects: Set<object> | null;
}

function plain(value: unknown, depth: number, seen: Seen): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_DEPTH) return false;
  if (depth > 0) {
    seen.objects ??= new Set();
    if (seen.objects.has(value)) return false;
    seen.objects.add(value);
  }
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!(i in value) || !plain(value[i], depth + 1, seen)) return false;
    return true;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    if (REFUSED_KEYS.has(key) || !plain((value as Record<string, unknown>)[key], depth + 1, seen)) return false;
  }
  return true;
}
