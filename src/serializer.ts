import superjson from 'superjson';
import { isPlainJson } from './plain-json.ts';

/** Turns operations into text for the log and the wire, and back. `fromString(toString(op))` must equal `op`. */
export interface Serializer<Op> {
  /** Turns an operation into text; must not return anything but a string. */
  toString(op: Op): string;
  /** Turns text made by `toString` back into the operation. */
  fromString(text: string): Op;
}

/** A serializer on superjson: Map, Set, Date, BigInt, undefined and RegExp survive the round trip. */
export function superjsonSerializer<Op>(): Serializer<Op> {
  return {
    toString: (op) => superjsonText(op),
    fromString: (text) => guarded(text, () => superjson.parse<Op>(text)),
  };
}

/** A serializer on plain JSON, for operations made of JSON values only. */
export function jsonSerializer<Op>(): Serializer<Op> {
  return {
    toString: (op) => JSON.stringify(op),
    fromString: (text) => guarded(text, () => JSON.parse(text) as Op),
  };
}

function guarded<Op>(text: string, parse: () => Op): Op {
  try {
    return parse();
  } catch (error) {
    const shown = text.length > 80 ? `${text.slice(0, 80)}...` : text;
    throw new Error(`could not deserialize the operation ${JSON.stringify(shown)}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * `superjson.stringify(value)`, exactly. Most values are plain JSON, which superjson writes as
 * `{"json": ...}`: that is written directly, without superjson's general walk.
 */
export function superjsonText(value: unknown): string {
  return isPlainJson(value) && !hasCustomTransformers() ? JSON.stringify({ json: value }) : superjson.stringify(value);
}

/**
 * Whether transformers were registered with superjson (`superjson.registerCustom`): one may claim a
 * plain value, so then superjson writes everything. Read from superjson's own registry; should that
 * ever look otherwise, this says yes, and superjson writes everything.
 */
function hasCustomTransformers(): boolean {
  const instance = (superjson as unknown as { defaultInstance?: { customTransformerRegistry?: { transfomers?: object } } }).defaultInstance;
  const transformers = instance?.customTransformerRegistry?.transfomers;
  if (typeof transformers !== 'object' || transformers === null) return true;
  for (const _ in transformers) return true;
  return false;
}
