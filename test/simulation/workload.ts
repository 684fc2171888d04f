import type { Rng } from '../../src/core/types.ts';
import type { KvInput } from '../linearizability/checker.ts';

/** A number drawn uniformly from [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (rng.nextInt(1_000_000) / 1_000_000) * (hi - lo);
}

/** True with probability `p`. */
export function chance(rng: Rng, p: number): boolean {
  return p > 0 && rng.nextInt(1_000_000) < p * 1_000_000;
}

/**
 * The clients' next operation: on one of `keys` keys, reads twice as often as each kind of write,
 * with compare-and-sets that sometimes expect a recent value and sometimes an absent key.
 * `value` must be new for every call, so each write is told apart in the history. `lookback`: how
 * many writes back a compare-and-set's expectation may reach (part of what a seed replays).
 */
export function randomKvInput(rng: Rng, keys: number, value: number, lookback = 3): KvInput {
  const key = `k${rng.nextInt(keys)}`;
  const choices: KvInput[] = [
    { kind: 'set', key, value },
    { kind: 'get', key },
    { kind: 'get', key },
    { kind: 'delete', key },
    { kind: 'cas', key, expected: rng.nextInt(2) === 0 ? null : value - 1 - rng.nextInt(lookback), value },
  ];
  return choices[rng.nextInt(choices.length)]!;
}
