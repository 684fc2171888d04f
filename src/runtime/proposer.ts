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

/** A command waiting for a leader, and who waits for where it lands. */
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
  /**
   * Commands for this node's own log, and who waits for each, gathered until the current task ends and
   * proposed together. Two lists, not a list of pairs: no object per operation.
   */
  private localCommands: Command[] = [];
  private localLandings: Landing[] = [];
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
    this.send(command, landing);
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
  private send(command: Command, landing: Landing): void {
    const closed = this.closed;
    if (closed !== null) {
      queueMicrotask(() => landing.refused(closed));
      return;
    }
    const { leader } = this.parts.node.softState();
    if (leader === null) {
      this.park(command, landing);
      return;
    }
    if (leader === this.parts.id) {
      // One proposal, one promise and one log append for all the operations of this task, not one each.
      this.localLandings.push(landing);
      if (this.localCommands.push(command) === 1) queueMicrotask(() => this.proposeLocal());
      return;
    }
    this.forwarder.forward(leader, command).then(
      (position) => landing.landed(position),
      (error: unknown) => this.failed(command, landing, error),
    );
  }

  private proposeLocal(): void {
    const commands = this.localCommands;
    const landings = this.localLandings;
    this.localCommands = [];
    this.localLandings = [];
    const closed = this.closed;
    if (closed !== null) return landings.forEach((landing) => landing.refused(closed));
    this.leaderCopies.propose(commands).then(
      (positions) => {
        for (let i = 0; i < landings.length; i++) {
          const position = positions[i];
          if (position === undefined) landings[i]!.refused(new GraftError('PROTOCOL', 'no position for a proposal'));
          else landings[i]!.landed(position);
        }
      },
      (error: unknown) => {
        for (let i = 0; i < landings.length; i++) this.failed(commands[i]!, landings[i]!, error);
      },
    );
  }

  /** NOT_LEADER and UNREACHABLE mean the entry was not appended anywhere: it waits for the next leader. Any other failure is final. */
  private failed(command: Command, landing: Landing, error: unknown): void {
    if (error instanceof GraftError && (error.code === 'NOT_LEADER' || error.code === 'UNREACHABLE')) this.park(command, landing);
    else landing.refused(error instanceof Error ? error : new Error(String(error)));
  }

  /** Holds a request until a leader is known; tried again on every leader change and each retry interval. */
  private park(command: Command, landing: Landing): void {
    if (this.closed !== null) {
      landing.refused(this.closed);
      return;
    }
    this.parked.push({ command, landing });
    this.cancelRetry ??= this.parts.clock.every(this.parts.retryMs, () => this.retryParked());
  }

  private retryParked(): void {
    if (this.parts.node.softState().leader === null) return;
    const parked = this.parked;
    this.parked = [];
    this.cancelRetry?.();
    this.cancelRetry = null;
    for (const { command, landing } of parked) this.send(command, landing);
  }
}
