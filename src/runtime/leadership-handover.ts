import type { EventEmitter } from 'node:events';
import type { NodeId, SoftState } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import type { GraftEvents } from './events.ts';
import type { OwnedTimers } from './owned-timers.ts';

/** What watching a leadership transfer works with. */
export interface HandoverParts {
  readonly self: NodeId;
  /** The instance whose `leader` events announce the new leader. */
  readonly events: EventEmitter<GraftEvents>;
  readonly softState: () => SoftState;
  /** The node a transfer is under way to, or null once the core gave it up. */
  readonly transferTarget: () => NodeId | null;
  readonly timers: OwnedTimers;
  readonly electionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Whether a peer can be reached now: a target that went away will not take over. */
  readonly reachable: (peer: NodeId) => boolean;
}

/**
 * Waits for a leadership transfer to `target` that the core has begun (thesis §3.10): resolves with
 * the new leader once one is known; rejects TRANSFER_ABORTED when the core gives up (after an election
 * timeout, this node still leading) or when this node stepped down and no leader made itself known.
 */
export function awaitHandover(parts: HandoverParts, target: NodeId): Promise<NodeId> {
  const { events, timers, electionTimeoutMs, self } = parts;
  return new Promise((resolve, reject) => {
    const done = (): void => {
      cancelCheck();
      cancelDeadline();
      events.off('leader', onLeader);
    };
    const onLeader = (leader: NodeId | null): void => {
      if (leader === null || leader === self) return;
      done();
      resolve(leader);
    };
    // The core gives up after an election timeout and takes proposals again: say so at once. A target
    // whose connection is gone (it stopped too) will not take over: no use waiting for it.
    const cancelCheck = timers.every(parts.heartbeatIntervalMs, () => {
      if (!parts.reachable(target)) {
        const still = parts.softState().role === 'Leader' ? `node ${self} still leads` : 'no leader is known';
        done();
        reject(new GraftError('TRANSFER_ABORTED', `node ${target} went away before it took over; ${still}`, { leader: parts.softState().leader }));
        return;
      }
      if (parts.softState().role !== 'Leader' || parts.transferTarget() !== null) return;
      done();
      reject(
        new GraftError('TRANSFER_ABORTED', `node ${target} did not take over within an election timeout (${electionTimeoutMs} ms); node ${self} still leads`, {
          leader: self,
        }),
      );
    });
    // This node stepped down, but no new leader has made itself known (the target may have failed mid-election).
    const cancelDeadline = timers.after(2 * electionTimeoutMs, () => {
      done();
      reject(
        new GraftError('TRANSFER_ABORTED', `node ${self} stepped down, but no new leader was known within ${2 * electionTimeoutMs} ms`, {
          leader: parts.softState().leader,
        }),
      );
    });
    events.on('leader', onLeader);
  });
}
