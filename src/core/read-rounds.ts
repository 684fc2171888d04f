import type { Membership } from './membership.ts';
import type { NodeId } from './types.ts';

/** A read waiting for its index: who asked (the leader itself or a follower) and its context. */
export interface ReadRequest {
  readonly from: NodeId;
  readonly context: number;
}

/** Reads a quorum has confirmed, to be answered at `index`. */
export interface ConfirmedReads {
  readonly index: number;
  readonly requests: readonly ReadRequest[];
}

/**
 * A leader's proof that it still leads, for linearizable reads (thesis §6.4). Every append carries
 * the current round; a follower's answer acknowledges the round it carried. Reads wait in a round
 * until a quorum has acknowledged it (ReadIndex). With a lease (thesis §6.4.1), every round also
 * remembers when it was sent: once a quorum acknowledges it, no other leader can be elected for
 * `leaseTicks` after that, because those voters ignore elections while they hear from a leader.
 */
export class ReadRounds {
  private round = 0;
  /** Per peer, the highest round it acknowledged in this leadership. */
  private readonly acks = new Map<NodeId, number>();
  /** Reads waiting for a quorum to acknowledge their round, oldest first. */
  private waiting: { round: number; index: number; requests: ReadRequest[] }[] = [];
  /** When each round not yet acknowledged by a quorum was sent (only with a lease). */
  private readonly sentAt = new Map<number, number>();
  private leaseStart: number | null = null;
  /**
   * Set once a transfer began, for the rest of the leadership: a TimeoutNow, however late it arrives,
   * lets its target collect votes from voters inside our lease, so no lease can be trusted.
   */
  private leaseForfeited = false;

  constructor(
    private readonly self: NodeId,
    private readonly leaseTicks: number,
    /** Test only: confirm reads without a quorum, or keep a lease forever (see RaftOptions.sabotage). */
    private readonly sabotage: { readonly withoutQuorum: boolean; readonly leaseNeverExpires: boolean },
  ) {}

  /** The round every append carries now. */
  get current(): number {
    return this.round;
  }

  /** A new leadership starts with no acknowledgements and no lease. Rounds keep counting up. */
  reset(): void {
    this.acks.clear();
    this.sentAt.clear();
    this.leaseStart = null;
    this.leaseForfeited = false;
  }

  /** Starts a round at tick `now`, e.g. for a heartbeat, so that its acknowledgements renew the lease. */
  next(now: number): number {
    this.round++;
    if (this.leaseTicks > 0) this.sentAt.set(this.round, now);
    return this.round;
  }

  /** Starts a round for `requests`, to be answered at `index` once a quorum acknowledges it. */
  wait(now: number, index: number, requests: ReadRequest[], membership: Membership): ConfirmedReads[] {
    this.waiting.push({ round: this.next(now), index, requests });
    return this.release(membership);
  }

  /** Whether reads are still waiting for a round: the caller sends a heartbeat to start it. */
  get pending(): boolean {
    return this.waiting.length > 0;
  }

  /** `peer` acknowledged `round`: returns the reads that are confirmed now. */
  acknowledge(peer: NodeId, round: number, membership: Membership): ConfirmedReads[] {
    if (round <= (this.acks.get(peer) ?? 0)) return [];
    this.acks.set(peer, round);
    if (this.leaseTicks > 0) this.extendLease(membership);
    return this.release(membership);
  }

  /** Whether tick `now` is inside the lease. */
  leaseHeld(now: number): boolean {
    if (this.leaseStart === null || this.leaseForfeited) return false;
    return now - this.leaseStart < this.leaseTicks || this.sabotage.leaseNeverExpires;
  }

  forfeitLease(): void {
    this.leaseForfeited = true;
  }

  /**
   * Time passed that the leader did not see (a pause): the lease held so far, and any lease the rounds
   * already sent could give, may have run out meanwhile. Only a round sent from now on renews it.
   */
  voidLease(): void {
    if (this.sabotage.leaseNeverExpires) return;
    this.leaseStart = null;
    this.sentAt.clear();
  }

  /** Leadership is lost: the reads still waiting can never be confirmed. */
  abandon(): ReadRequest[] {
    const requests = this.waiting.flatMap((w) => w.requests);
    this.waiting = [];
    return requests;
  }

  private release(membership: Membership): ConfirmedReads[] {
    const confirmed: ConfirmedReads[] = [];
    while (this.waiting.length > 0) {
      const oldest = this.waiting[0]!;
      const answered = new Map<NodeId, boolean>([[this.self, true]]);
      for (const [peer, round] of this.acks) answered.set(peer, round >= oldest.round);
      if (!this.sabotage.withoutQuorum && membership.voteResult(answered) !== 'won') break;
      this.waiting.shift();
      confirmed.push(oldest);
    }
    return confirmed;
  }

  /** Moves the lease start to the send time of the newest round a quorum has acknowledged. */
  private extendLease(membership: Membership): void {
    const confirmed = membership.committedIndex((id) => (id === this.self ? this.round : (this.acks.get(id) ?? 0)));
    const sentAt = this.sentAt.get(confirmed);
    if (sentAt === undefined) return;
    this.leaseStart = sentAt;
    for (const round of this.sentAt.keys()) if (round <= confirmed) this.sentAt.delete(round);
  }
}
