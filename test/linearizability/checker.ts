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

/**
 * The memo's budget, in characters of its keys: past it the checker gives up, well inside a test's
 * heap. A key is a sixteenth of the history's length (plus the state's), so a longer history may
 * explore fewer states.
 */
const MEMO_CHARS = 2 ** 28;
/** The states a history of `ops` operations may explore within MEMO_CHARS. */
const statesWithinBudget = (ops: number): number => Math.min(2_000_000, Math.floor(MEMO_CHARS / (Math.ceil(ops / 16) + 32)));

/** Which operations are placed, as bits, with a compact string key for memoisation. */
class PlacedSet {
  private readonly words: Uint16Array;
  constructor(size: number) {
    this.words = new Uint16Array(Math.ceil(size / 16));
  }
  add(i: number): void {
    this.words[i >> 4]! |= 1 << (i & 15);
  }
  delete(i: number): void {
    this.words[i >> 4]! &= ~(1 << (i & 15));
  }
  /** Sixteen operations per character: a memo key is a sixteenth of the history's length. */
  key(): string {
    let key = '';
    for (let at = 0; at < this.words.length; at += 8192) key += String.fromCharCode(...this.words.subarray(at, at + 8192));
    return key;
  }
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
 * after its call, or never. Two rules keep such operations from multiplying the search:
 * - one is placed only where it changes the state. Where it would not, leaving it out gives the
 *   same states and outputs, and keeps it free to take effect later (a compare-and-set that fails
 *   now may swap later);
 * - once every operation with a known outcome is placed, the rest never took effect.
 * Without them, k such operations that could each be a no-op gave up to 2^k placed sets with
 * the same state at every point the search backtracked over.
 *
 * Throws when the search passes `maxStates` (placed set, state) pairs (by default, as many as fit
 * the memo's budget): an answer it cannot give must not pass as one, nor take the whole heap.
 */
export function isLinearizable<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], maxStates = statesWithinBudget(ops.length)): boolean {
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

  const placed = new PlacedSet(ops.length);
  const seen = new Set<string>();
  const stack: { call: Event; state: S }[] = [];
  let state = model.init;
  let entry = head.next;
  while (head.next !== null) {
    if (entry !== null && entry.kind === 'call') {
      const op = ops[entry.op]!;
      const result = model.step(state, op.input, op.output);
      const stateKey = result.ok ? model.key(result.state) : '';
      if (result.ok && (op.output !== undefined || stateKey !== model.key(state))) {
        placed.add(entry.op);
        const memo = `${placed.key()}|${stateKey}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          if (seen.size > maxStates) {
            throw new Error(`history of ${ops.length} operations too ambiguous to check: more than ${maxStates} states explored`);
          }
          stack.push({ call: entry, state });
          state = result.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        placed.delete(entry.op);
      }
      entry = entry.next;
    } else if (entry !== null && entry.time === Infinity) {
      // Only operations with unknown outcomes are left (their returns sort last): they never took effect.
      return true;
    } else {
      // The operation returning here has not been placed: undo the last choice and try the next one.
      const top = stack.pop();
      if (top === undefined) return false;
      state = top.state;
      placed.delete(top.call.op);
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
