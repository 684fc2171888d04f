import type { SoftState } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import type { OwnedTimers } from './owned-timers.ts';

/** What a read barrier works with. */
export interface ReadBarrierParts {
  /** Asks the leader for a read index (RaftNode.read). */
  readonly readIndex: () => Promise<number>;
  /** Resolves once `index` is applied here (Applier.until). */
  readonly applied: (index: number) => Promise<void>;
  readonly softState: () => SoftState;
  readonly timers: OwnedTimers;
  /** How long a barrier may take before it rejects TIMEOUT_OUTCOME_UNKNOWN. */
  readonly timeoutMs: number;
  /** How long to wait before asking again when no leader could confirm a read. */
  readonly retryMs: number;
  /**
   * Registers the barrier's way to fail while it waits (the instance stops: its timers, a retry
   * among them, are cancelled, so nothing else would settle it); returns the way to unregister.
   */
  readonly waiting: (fail: (error: Error) => void) => () => void;
}

/**
 * A linearizable read barrier (thesis §6.4, ReadIndex): resolves once this node has applied every
 * operation acknowledged before the call. A read has no effect, so when no leader can confirm one
 * (an election is under way) it is simply asked again, until the deadline.
 */
export function awaitReadBarrier(parts: ReadBarrierParts): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      cancel();
      unregister();
      fn();
    };
    const unregister = parts.waiting((error) => finish(() => reject(error)));
    const cancel = parts.timers.after(parts.timeoutMs, () =>
      finish(() =>
        reject(new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `no leader confirmed a read within ${parts.timeoutMs} ms`, { leader: parts.softState().leader })),
      ),
    );
    const attempt = (): void => {
      if (settled) return;
      parts
        .readIndex()
        .then(parts.applied)
        .then(
          () => finish(resolve),
          (error: unknown) => {
            if (error instanceof GraftError && (error.code === 'NOT_LEADER' || error.code === 'NO_LEADER')) parts.timers.after(parts.retryMs, attempt);
            else finish(() => reject(error instanceof Error ? error : new Error(String(error))));
          },
        );
    };
    attempt();
  });
}
