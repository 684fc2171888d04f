/**
 * What the leader knows of one follower's log, and how fast it may send to it.
 *
 * `probe`: the leader does not know where the logs match; it sends one append at a time and waits
 * for the answer (or the next heartbeat) before the next. `replicate`: the logs are known to match up
 * to `match`; the leader streams appends optimistically, at most `maxInflight` unacknowledged.
 * `snapshot`: the follower needs entries the leader has compacted away; a snapshot is on its way and
 * nothing else is sent until it is acknowledged, or given up on (§7).
 * Invariant: match < next.
 */
export class Progress {
  match = 0;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot' = 'probe';
  /** In snapshot state: the index of the snapshot sent, and heartbeats since, to send it again if lost. */
  pendingSnapshot = 0;
  snapshotHeartbeats = 0;
  /** Whether the follower answered since the leader's last quorum check (thesis §6.2). */
  recentActive = false;
  /** In probe state: an append is out and unanswered. */
  probeSent = false;
  /** The commit index the last append sent to it carried. */
  commitSent = 0;
  /** In replicate state: the last index of each unacknowledged append, ascending. */
  private readonly inflight: number[] = [];

  constructor(
    next: number,
    private readonly maxInflight: number,
  ) {
    this.next = next;
  }

  /** Whether the leader should hold further appends until an answer or a heartbeat arrives. */
  isPaused(): boolean {
    if (this.state === 'snapshot') return true;
    return this.state === 'probe' ? this.probeSent : this.inflight.length >= this.maxInflight;
  }

  /** A snapshot up to `index` was sent: replication waits for its acknowledgement. */
  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.snapshotHeartbeats = 0;
    this.probeSent = false;
    this.inflight.length = 0;
  }

  /** Records that an append ending at `lastIndex` was sent. */
  sentAppend(lastIndex: number, carriedEntries: boolean): void {
    if (this.state === 'probe') {
      this.probeSent = true;
    } else if (carriedEntries) {
      this.inflight.push(lastIndex);
      this.next = lastIndex + 1;
    }
  }

  /** A success up to `matchIndex`. Returns whether it told the leader anything new. */
  maybeUpdate(matchIndex: number): boolean {
    while (this.inflight.length > 0 && (this.inflight[0] ?? 0) <= matchIndex) this.inflight.shift();
    if (matchIndex <= this.match) return false;
    this.match = matchIndex;
    this.next = Math.max(this.next, matchIndex + 1);
    return true;
  }

  /** The follower's log ends at `lastIndex`, below what it acknowledged: it lost entries. Probe from there. */
  lostEntries(lastIndex: number): void {
    this.match = Math.min(this.match, lastIndex);
    this.becomeProbe(lastIndex + 1);
  }

  becomeProbe(next: number): void {
    this.state = 'probe';
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = Math.max(this.match + 1, next);
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.inflight.length = 0;
    this.next = this.match + 1;
  }
}
