import superjson from 'superjson';

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
    toString: (op) => superjson.stringify(op),
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
