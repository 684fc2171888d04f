import type { LogPosition } from '../core/raft.ts';
import { GraftError } from '../errors.ts';

interface Waiter {
  readonly term: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Callers waiting for their operation to be applied, by log index. An operation is applied at its
 * position only if the entry committed there has the term it was appended with; another term means
 * a later leader overwrote it (§5.3), so it was never applied and never will be.
 */
export class ApplyWaiters {
  private readonly waiters = new Map<number, Waiter>();

  /** Waits for the entry at `position`. `appliedIndex` tells whether it was applied already. */
  wait(position: LogPosition, appliedIndex: number): Promise<unknown> {
    if (position.index <= appliedIndex) {
      // Only a reordering transport can deliver an entry before its position: the result is gone.
      return Promise.reject(new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `operation at index ${position.index} was applied before its position arrived; its result is unknown`));
    }
    return new Promise((resolve, reject) => this.waiters.set(position.index, { term: position.term, resolve, reject }));
  }

  /** Called once per applied entry, in order, with what the applicator returned or threw. */
  settle(index: number, term: number, outcome: { ok: true; value: unknown } | { ok: false; error: Error }): void {
    const waiter = this.waiters.get(index);
    if (waiter === undefined) return;
    this.waiters.delete(index);
    if (waiter.term !== term) {
      waiter.reject(new GraftError('ENTRY_LOST', `operation at index ${index} (term ${waiter.term}) was replaced by an entry of term ${term} after a leader change; it was not applied`));
    } else if (outcome.ok) {
      waiter.resolve(outcome.value);
    } else {
      waiter.reject(new GraftError('APPLY_FAILED', `the applicator threw at index ${index}: ${outcome.error.message}`, { cause: outcome.error }));
    }
  }

  rejectAll(error: Error): void {
    for (const waiter of this.waiters.values()) waiter.reject(error);
    this.waiters.clear();
  }
}
