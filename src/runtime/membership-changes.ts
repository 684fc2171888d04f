import { isRefusal, type ChangeRefusal, type ConfigChange } from '../core/configuration-change.ts';
import { Membership, type Configuration } from '../core/membership.ts';
import type { LogPosition, NodeId } from '../core/types.ts';
import { sameEndpoint } from '../config.ts';
import { GraftError } from '../errors.ts';
import type { OwnedTimers } from './owned-timers.ts';

/** One member of the configuration in force, as `GraftInstance.members()` lists it. */
export interface MemberInfo {
  /** Its machine id. */
  readonly id: NodeId;
  /** Where it listens, `host:port`. */
  readonly address: string;
  /** A voter counts towards elections and commitment; a learner only receives the log (thesis §4.2.1). */
  readonly role: 'voter' | 'learner';
  /** The last log index it is known to hold: known on the leader only, null elsewhere. */
  readonly matchIndex: number | null;
}

/** What the membership changes need of the node. */
export interface MembershipNode {
  proposeConfigChange(changes: readonly ConfigChange[]): LogPosition | ChangeRefusal | null;
  configuration(): { readonly configuration: Configuration; readonly index: number };
  commitIndex(): number;
  matchIndexes(): Map<NodeId, number> | null;
  addressOf(id: NodeId, configuration: Configuration): string | undefined;
  softState(): { readonly leader: NodeId | null };
}

export interface MembershipParts {
  readonly node: MembershipNode;
  readonly timers: OwnedTimers;
  /** How long one step (a configuration entry, until committed) may take. */
  readonly stepTimeoutMs: number;
  /** How long a new member may take to catch up before it is promoted. */
  readonly catchUpTimeoutMs: number;
  /** How often conditions are looked at again while waiting: a heartbeat interval. */
  readonly pollMs: number;
}

/**
 * Membership changes as a caller asks for them (thesis chapter 4), each resolved once committed. A
 * new voter joins as a learner, is sent the log (or a snapshot) until it holds what is committed, and
 * is then promoted (thesis §4.2.1), so adding a member never makes the cluster wait for it. The core
 * makes each change safe (joint consensus, one at a time); this drives the steps and waits for them.
 */
export class MembershipChanges {
  /** The change this instance is making, in words: one at a time. */
  private running: string | null = null;
  /** How to fail each wait under way, when the instance stops. */
  private readonly waiting = new Set<(error: Error) => void>();

  constructor(private readonly parts: MembershipParts) {}

  /** The members of the configuration in force, by id. */
  members(): MemberInfo[] {
    const { configuration } = this.parts.node.configuration();
    const membership = new Membership(configuration);
    const matches = this.parts.node.matchIndexes();
    return membership.allMembers().map((id) => ({
      id,
      address: this.parts.node.addressOf(id, configuration) ?? '',
      role: membership.isVoter(id) ? 'voter' : 'learner',
      matchIndex: matches?.get(id) ?? null,
    }));
  }

  /** Adds `id` at `address`: as a learner, then (unless `learner`) promoted once caught up. Idempotent. */
  add(id: NodeId, address: string, learner: boolean): Promise<MemberInfo[]> {
    return this.oneAtATime(`adding ${id}${learner ? ' as a learner' : ''}`, () => this.adding(id, address, learner));
  }

  /** Removes `id`, voter or learner; resolves once the configuration without it is committed. */
  remove(id: NodeId): Promise<MemberInfo[]> {
    return this.oneAtATime(`removing ${id}`, () => this.removing(id));
  }

  private async oneAtATime(what: string, run: () => Promise<MemberInfo[]>): Promise<MemberInfo[]> {
    if (this.running !== null) throw new GraftError('CHANGE_IN_PROGRESS', `a membership change is in progress (${this.running}); try again once it is done`);
    this.running = what;
    try {
      return await run();
    } finally {
      this.running = null;
    }
  }

  private async adding(id: NodeId, address: string, learner: boolean): Promise<MemberInfo[]> {
    const current = this.parts.node.configuration().configuration;
    const known = current.addresses[id];
    if (known !== undefined && known !== address) {
      throw new GraftError('INVALID_ARGUMENT', `machine id ${id} is a member already, at ${known}, not at ${address}`);
    }
    const membership = new Membership(current);
    const taken = Object.entries(current.addresses).find(([other, theirs]) => other !== id && membership.isMember(other) && sameEndpoint(theirs, address));
    if (taken !== undefined) {
      const how = taken[1] === address ? '' : ` (${taken[1]}, written another way)`;
      throw new GraftError('INVALID_ARGUMENT', `address ${address} is already the address of machine ${taken[0]}${how}; every member needs its own`);
    }
    if (!membership.isMember(id)) await this.change([{ type: 'add-learner', id, address }], (m) => m.isMember(id));
    if (learner || new Membership(this.parts.node.configuration().configuration).isVoter(id)) return this.members();
    await this.caughtUp(id, address);
    await this.change([{ type: 'add-voter', id, address }], (m) => m.isVoter(id));
    return this.members();
  }

  private async removing(id: NodeId): Promise<MemberInfo[]> {
    if (!new Membership(this.parts.node.configuration().configuration).isMember(id)) {
      throw new GraftError(
        'INVALID_ARGUMENT',
        `machine id ${id} is not a member (members: ${this.members()
          .map((m) => m.id)
          .join(', ')})`,
      );
    }
    await this.change([{ type: 'remove', id }], (m) => !m.isMember(id));
    return this.members();
  }

  /**
   * Proposes `changes` on this node (the leader) and waits until a configuration that satisfies
   * `done`, and is not joint, is committed. Refused because the core has a change of its own in
   * flight (the second step of a joint change, or a new leader's first entry not committed yet), it
   * is asked again as that finishes, until the step's deadline.
   */
  private async change(changes: readonly ConfigChange[], done: (m: Membership) => boolean): Promise<void> {
    const { node, stepTimeoutMs } = this.parts;
    let refusal = '';
    try {
      await this.until(stepTimeoutMs, () => {
        const outcome = node.proposeConfigChange(changes);
        if (outcome === null)
          throw new GraftError('NOT_LEADER', 'this node does not lead; membership changes go to the leader', { leader: node.softState().leader });
        if (!isRefusal(outcome)) return true;
        if (outcome.reason === 'invalid') throw new GraftError('INVALID_ARGUMENT', outcome.message);
        refusal = outcome.message;
        return false;
      });
    } catch (error) {
      if (error instanceof GraftError && error.code === 'TIMEOUT_OUTCOME_UNKNOWN') {
        throw new GraftError('CHANGE_IN_PROGRESS', `the change could not start within ${stepTimeoutMs} ms: ${refusal}`);
      }
      throw error;
    }
    await this.until(stepTimeoutMs, () => {
      const { configuration, index } = node.configuration();
      const membership = new Membership(configuration);
      return index <= node.commitIndex() && !membership.isJoint && done(membership);
    });
  }

  /** Waits until the learner `id` holds every entry committed (thesis §4.2.1: promote only a member that has caught up). */
  private async caughtUp(id: NodeId, address: string): Promise<void> {
    const { node, catchUpTimeoutMs } = this.parts;
    await this.until(catchUpTimeoutMs, () => {
      const matches = node.matchIndexes();
      if (matches === null)
        throw new GraftError('NOT_LEADER', 'leadership moved while the new member caught up; ask the leader again', { leader: node.softState().leader });
      return (matches.get(id) ?? 0) >= node.commitIndex();
    }).catch((error: unknown) => {
      if (error instanceof GraftError && error.code === 'TIMEOUT_OUTCOME_UNKNOWN') {
        throw new GraftError(
          'NOT_CAUGHT_UP',
          `machine ${id} was added as a learner but did not catch up within ${catchUpTimeoutMs} ms (is it running at ${address}?); it stays a learner: add it again to promote it`,
        );
      }
      throw error;
    });
  }

  /** The instance stops: every change under way fails with `error` (it may still complete in the cluster). */
  rejectAll(error: Error): void {
    for (const fail of [...this.waiting]) fail(error);
  }

  /** Resolves once `condition` holds (looked at now and every poll interval); rejects TIMEOUT_OUTCOME_UNKNOWN at the deadline, or with what `condition` throws. */
  private until(timeoutMs: number, condition: () => boolean): Promise<void> {
    const { timers, pollMs } = this.parts;
    return new Promise((resolve, reject) => {
      let cancelPoll = (): void => {};
      const finish = (outcome: () => void): void => {
        cancelPoll();
        cancelDeadline();
        this.waiting.delete(fail);
        outcome();
      };
      const fail = (error: Error): void => finish(() => reject(error));
      this.waiting.add(fail);
      const look = (): boolean => {
        try {
          if (!condition()) return false;
          finish(resolve);
        } catch (error) {
          finish(() => reject(error as Error));
        }
        return true;
      };
      const cancelDeadline = timers.after(timeoutMs, () =>
        finish(() => reject(new GraftError('TIMEOUT_OUTCOME_UNKNOWN', `the membership change did not complete within ${timeoutMs} ms`))),
      );
      if (look()) return;
      cancelPoll = timers.every(pollMs, () => void look());
    });
  }
}
