import type { Command, NodeId } from '../core/types.ts';
import { GraftError } from '../errors.ts';
import { LeaderCopies } from '../session/leader-copies.ts';
import type { Landing } from '../session/client-session.ts';
import type { SessionTable } from '../session/session-table.ts';
import type { ForwardRequest, ForwardResponse } from '../transport/peer-messages.ts';
import type { Cancel, Clock } from './clock.ts';
import { Forwarder } from './forwarding.ts';
import type { RaftNode } from './node.ts';

/** What a Proposer works with. */
export interface ProposerParts {
  readonly id: NodeId;
  readonly node: RaftNode;
  readonly clock: Clock;
  /** The replicated session table, which tells the leader which copies it may drop. */
  readonly sessions: SessionTable;
  /** How often requests waiting for a leader are tried again, ms (a heartbeat interval). */
  readonly retryMs: number;
  /** How long a forwarded request waits for the leader's answer before it is sent again, ms. */
  readonly forwardTimeoutMs: number;
  /** The first id of this node's forwarded requests: distinct per process, so a restart reuses none. */
  readonly forwardIdBase: number;
}

interface Request {
  readonly command: Command;
  readonly landing: Landing;
}

/**
 * Gets entries into the leader's log, wherever this node stands: appends them itself when it leads
 * (dropping copies the leader already has, thesis §6.3), forwards them to the leader it knows, and
 * holds them while no leader is known. Resolves with where each entry landed.
 */
export class Proposer {
  /** While this node leads: drops copies of operations already appended or applied. */
  readonly leaderCopies: LeaderCopies;
  private readonly forwarder: Forwarder;
  /** Requests waiting for a leader to be known. */
  private parked: Request[] = [];
  /** Requests for this node's own log, gathered until the current task ends and proposed together. */
  private local: Request[] = [];
  private cancelRetry: Cancel | null = null;
  private closed: GraftError | null = null;

  constructor(private readonly parts: ProposerParts) {
    const { node } = parts;
    this.leaderCopies = new LeaderCopies(
      parts.sessions,
      (commands) => node.propose(commands),
      () => node.softState().term,
    );
    this.forwarder = new Forwarder(
      parts.forwardIdBase,
      parts.id,
      parts.clock,
      parts.forwardTimeoutMs,
      (to, m) => node.sendToPeer(to, m),
      (commands) => this.leaderCopies.propose(commands),
    );
  }

  /** Appends `command`'s entry to the leader's log; tells `landing` its position there (never before returning). */
  submit(command: Command, landing: Landing): void {
    this.send({ command, landing });
  }

  /** A forwarding message from a peer. */
  handle(message: ForwardRequest | ForwardResponse): void {
    this.forwarder.handle(message);
  }

  /** A leader became known: what waited for one goes now. */
  leaderKnown(): void {
    this.retryParked();
  }

  /** Fails everything in flight with `error`, and every later submission; cancels the retry timer. */
  close(error: GraftError): void {
    this.closed = error;
    this.cancelRetry?.();
    this.cancelRetry = null;
    const parked = this.parked;
    this.parked = [];
    for (const request of parked) request.landing.refused(error);
    this.forwarder.rejectAll(error);
  }

  /** Sends an entry to where it can be appended: this node's log if it leads, else the leader's. */
  private send(request: Request): void {
    const closed = this.closed;
    if (closed !== null) {
      queueMicrotask(() => request.landing.refused(closed));
      return;
    }
    const { leader } = this.parts.node.softState();
    if (leader === null) {
      this.park(request);
      return;
    }
    if (leader === this.parts.id) {
      // One proposal, one promise and one log append for all the operations of this task, not one each.
      if (this.local.push(request) === 1) queueMicrotask(() => this.proposeLocal());
      return;
    }
    this.forwarder.forward(leader, request.command).then(
      (position) => request.landing.landed(position),
      (error: unknown) => this.failed(request, error),
    );
  }

  private proposeLocal(): void {
    const batch = this.local;
    this.local = [];
    const closed = this.closed;
    if (closed !== null) return batch.forEach((request) => request.landing.refused(closed));
    this.leaderCopies.propose(batch.map((r) => r.command)).then(
      (positions) => {
        batch.forEach((request, i) => {
          const position = positions[i];
          if (position === undefined) request.landing.refused(new GraftError('PROTOCOL', 'no position for a proposal'));
          else request.landing.landed(position);
        });
      },
      (error: unknown) => {
        for (const request of batch) this.failed(request, error);
      },
    );
  }

  /** NOT_LEADER and UNREACHABLE mean the entry was not appended anywhere: it waits for the next leader. Any other failure is final. */
  private failed(request: Request, error: unknown): void {
    if (error instanceof GraftError && (error.code === 'NOT_LEADER' || error.code === 'UNREACHABLE')) this.park(request);
    else request.landing.refused(error instanceof Error ? error : new Error(String(error)));
  }

  /** Holds a request until a leader is known; tried again on every leader change and each retry interval. */
  private park(request: Request): void {
    if (this.closed !== null) {
      request.landing.refused(this.closed);
      return;
    }
    this.parked.push(request);
    this.cancelRetry ??= this.parts.clock.every(this.parts.retryMs, () => this.retryParked());
  }

  private retryParked(): void {
    if (this.parts.node.softState().leader === null) return;
    const parked = this.parked;
    this.parked = [];
    this.cancelRetry?.();
    this.cancelRetry = null;
    for (const request of parked) this.send(request);
  }
}
