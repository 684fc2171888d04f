import { isDeepStrictEqual } from 'node:util';

/**
 * A sequential specification: from a state, an input with its observed output either could have
 * happened (giving the next state) or could not.
 */
export interface Model<State, Input, Output> {
  readonly init: State;
  /** `output` is undefined when the outcome is unknown (the caller timed out): any output fits. */
  step(state: State, input: Input, output: Output | undefined): { ok: boolean; state: State };
  /** A key for memoisation: equal states must give equal keys. */
  key(state: State): string;
}

/** One operation of a history: when it was invoked, when it returned (Infinity: never seen), what it saw. */
export interface Operation<Input, Output> {
  readonly client: number;
  readonly input: Input;
  /** Undefined when the outcome is unknown. */
  readonly output: Output | undefined;
  readonly call: number;
  readonly return: number;
}

interface Event {
  readonly op: number;
  readonly kind: 'call' | 'return';
  readonly time: number;
  prev: Event | null;
  next: Event | null;
  /** For a call, its return; for a return, its call. */
  match: Event | null;
}

/**
 * Whether a history is linearizable (Herlihy & Wing): the search of Wing & Gong with the
 * memoisation of Lowe, as in the porcupine checker. Each operation is tried as the next to take
 * effect if its call precedes every pending return; a return reached with its operation not yet
 * placed means backtracking. A (set of placed operations, state) pair already explored is skipped.
 * An operation whose outcome is unknown has return time Infinity: it may take effect at any point
 * after its call, including never (after everything else).
 */
export function isLinearizable<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): boolean {
  if (ops.length === 0) return true;
  const events: Event[] = [];
  ops.forEach((op, i) => {
    const call: Event = { op: i, kind: 'call', time: op.call, prev: null, next: null, match: null };
    const ret: Event = { op: i, kind: 'return', time: op.return, prev: null, next: null, match: call };
    call.match = ret;
    events.push(call, ret);
  });
  // By time; at equal times calls come first, so operations that touch in time count as concurrent.
  events.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
  const head: Event = { op: -1, kind: 'call', time: -Infinity, prev: null, next: null, match: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }

  const lift = (call: Event): void => {
    for (const e of [call, call.match!]) {
      e.prev!.next = e.next;
      if (e.next) e.next.prev = e.prev;
    }
  };
  const unlift = (call: Event): void => {
    for (const e of [call.match!, call]) {
      e.prev!.next = e;
      if (e.next) e.next.prev = e;
    }
  };

  const placed = new Uint8Array(ops.length);
  const seen = new Set<string>();
  const stack: { call: Event; state: S }[] = [];
  let state = model.init;
  let entry = head.next;
  while (head.next !== null) {
    if (entry !== null && entry.kind === 'call') {
      const op = ops[entry.op]!;
      const result = model.step(state, op.input, op.output);
      if (result.ok) {
        placed[entry.op] = 1;
        const memo = `${placed.join('')}|${model.key(result.state)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ call: entry, state });
          state = result.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        placed[entry.op] = 0;
      }
      entry = entry.next;
    } else {
      // The operation returning here has not been placed: undo the last choice and try the next one.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      placed[top.call.op] = 0;
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}

/** The key-value store's operations, as the simulated clients issue them. */
export type KvInput =
  | { readonly kind: 'set'; readonly key: string; readonly value: unknown }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: unknown; readonly value: unknown }
  | { readonly kind: 'get'; readonly key: string };

/** What the store answered: for get, the value or undefined when absent; for cas, whether it swapped. */
export type KvOutput = { readonly value: unknown } | { readonly ok: boolean } | { readonly done: true };

const ABSENT = { absent: true } as const;

/** One key of the store as a register; an absent key compares as null for cas, as the kvstore does. */
export const registerModel: Model<unknown, KvInput, KvOutput> = {
  init: ABSENT,
  key: (s) => JSON.stringify(s),
  step(state, input, output) {
    switch (input.kind) {
      case 'set':
        return { ok: true, state: input.value };
      case 'delete':
        return { ok: true, state: ABSENT };
      case 'get': {
        const seen = state === ABSENT ? undefined : state;
        return { ok: output === undefined || isDeepStrictEqual((output as { value: unknown }).value, seen), state };
      }
      case 'cas': {
        const swaps = isDeepStrictEqual(state === ABSENT ? null : state, input.expected);
        if (output !== undefined && (output as { ok: boolean }).ok !== swaps) return { ok: false, state };
        return { ok: true, state: swaps ? input.value : state };
      }
    }
  },
};

/** Checks a key-value history one key at a time (operations on different keys never constrain each other). Returns the first key that fails, or null. */
export function checkKvHistory(ops: readonly Operation<KvInput, KvOutput>[]): string | null {
  const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
  for (const op of ops) {
    const list = byKey.get(op.input.key);
    if (list === undefined) byKey.set(op.input.key, [op]);
    else list.push(op);
  }
  for (const [key, list] of byKey) if (!isLinearizable(registerModel, list)) return key;
  return null;
}
