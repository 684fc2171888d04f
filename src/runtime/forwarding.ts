import type { LogPosition } from '../core/raft.ts';
import type { Command, NodeId } from '../core/types.ts';
import { GraftError, type GraftErrorCode } from '../errors.ts';
import type { ForwardRequest, ForwardResponse, PeerMessage } from '../transport/peer-messages.ts';
import type { Cancel, Clock } from './clock.ts';

/** How many served requests a leader remembers to recognise duplicates. */
const SERVED_MEMORY = 4096;

interface Outstanding {
  readonly resolve: (positions: LogPosition[]) => void;
  readonly reject: (error: Error) => void;
  readonly cancel: Cancel;
}

interface Queued {
  readonly command: Command;
  readonly resolve: (position: LogPosition) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Request forwarding: a follower hands commands to the leader, which appends them and answers with
 * their log positions. The follower then waits for its own apply of those positions, so a caller on
 * any node gets the result of its own node's state machine. Commands forwarded in one event-loop
 * pass travel in one request.
 */
export class Forwarder {
  private readonly outstanding = new Map<number, Outstanding>();
  /**
   * Requests this node has served, by sender and id, with their answer: a duplicated request (a
   * network that repeats a frame) gets the first answer again instead of appending its commands twice.
   */
  private readonly served = new Map<string, Promise<LogPosition[]>>();
  private queued = new Map<NodeId, Queued[]>();
  private flushScheduled = false;

  constructor(
    /** Where this instance's request ids start: random, so a restarted node never reuses its old ids. */
    private nextId: number,
    private readonly self: NodeId,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly send: (to: NodeId, message: PeerMessage) => boolean,
    private readonly propose: (commands: readonly Command[]) => Promise<LogPosition[]>,
  ) {}

  /** Asks `leader` to append `command`'s entry; resolves with where it landed. */
  forward(leader: NodeId, command: Command): Promise<LogPosition> {
    return new Promise((resolve, reject) => {
      const list = this.queued.get(leader);
      if (list === undefined) this.queued.set(leader, [{ command, resolve, reject }]);
      else list.push({ command, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        this.clock.defer(() => this.flush());
      }
    });
  }

  /** Handles a forwarding message from a peer: a request when this node leads, or an answer. */
  handle(message: ForwardRequest | ForwardResponse): void {
    if (message.type === 'Forward') {
      this.serve(message);
      return;
    }
    const request = this.outstanding.get(message.id);
    if (request === undefined) return; // timed out already
    this.outstanding.delete(message.id);
    request.cancel();
    if (message.positions !== null) {
      request.resolve([...message.positions]);
    } else {
      const error = message.error;
      request.reject(new GraftError((error?.code ?? 'NOT_LEADER') as GraftErrorCode, error?.message ?? 'refused', { leader: error?.leader ?? null }));
    }
  }

  rejectAll(error: Error): void {
    for (const request of this.outstanding.values()) {
      request.cancel();
      request.reject(error);
    }
    this.outstanding.clear();
    for (const list of this.queued.values()) for (const q of list) q.reject(error);
    this.queued.clear();
  }

  private flush(): void {
    this.flushScheduled = false;
    const queued = this.queued;
    this.queued = new Map();
    for (const [leader, items] of queued) {
      const id = this.nextId++;
      const cancel = this.clock.after(this.timeoutMs, () => {
        if (!this.outstanding.delete(id)) return;
        const error = new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `leader ${leader} did not answer a forwarded request within ${this.timeoutMs} ms`);
        for (const item of items) item.reject(error);
      });
      this.outstanding.set(id, {
        cancel,
        resolve: (positions) =>
          items.forEach((item, i) => {
            const position = positions[i];
            if (position === undefined) item.reject(new GraftError('PROTOCOL', `leader ${leader} answered with too few positions`));
            else item.resolve(position);
          }),
        reject: (error) => items.forEach((item) => item.reject(error)),
      });
      const sent = this.send(leader, { type: 'Forward', from: this.self, to: leader, id, commands: items.map((item) => item.command) });
      if (!sent) {
        // It never left this node, so it cannot have been appended: the caller may safely try again.
        this.outstanding.get(id)?.reject(new GraftError('UNREACHABLE', `no connection to leader ${leader}`, { leader }));
        this.outstanding.delete(id);
        cancel();
      }
    }
  }

  private serve(request: ForwardRequest): void {
    const answer = (fields: Pick<ForwardResponse, 'positions' | 'error'>): boolean =>
      this.send(request.from, { type: 'ForwardResponse', from: this.self, to: request.from, id: request.id, ...fields });
    const key = `${request.from}:${request.id}`;
    let positions = this.served.get(key);
    if (positions === undefined) {
      positions = this.propose(request.commands);
      this.served.set(key, positions);
      // Remember the most recent requests only; a duplicate arrives soon after its original.
      if (this.served.size > SERVED_MEMORY) this.served.delete(this.served.keys().next().value!);
    }
    positions.then(
      // Positions here are the entries themselves: only their index and term go back.
      (positions) => answer({ positions: positions.map(({ index, term }) => ({ index, term })), error: null }),
      (error: unknown) => {
        const e = error instanceof GraftError ? error : new GraftError('NOT_LEADER', String(error));
        answer({ positions: null, error: { code: e.code, message: e.message, leader: e.leader } });
      },
    );
  }
}
