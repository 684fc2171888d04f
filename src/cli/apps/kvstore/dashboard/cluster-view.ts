import type { GraftStatus } from '../../../../index.ts';
import type { PeerAnswer } from './peer-status.ts';

/** One member as the dashboard shows it. Every field but the first four is null while the member is down. */
export interface MemberView {
  readonly id: string;
  readonly address: string;
  readonly suffrage: 'voter' | 'learner';
  /** Whether it is the node that serves the page. */
  readonly self: boolean;
  /** Up: it answered `/status` (the serving node always is); down: it did not, for `reason`. */
  readonly state: 'up' | 'down';
  readonly reason: string | null;
  readonly role: string | null;
  readonly term: number | null;
  /** The leader it names. */
  readonly leader: string | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly snapshotIndex: number | null;
  /** How many entries the leader has committed that this member has not applied yet; null without an answer from both. */
  readonly lag: number | null;
}

/** Something that happened, as the page lists it. `at`: milliseconds since the epoch, on the serving node's clock. */
export interface DashboardEvent {
  readonly at: number;
  readonly kind: 'leader' | 'role' | 'membership' | 'removed' | 'snapshot' | 'connection';
  readonly text: string;
}

/** Everything the page shows, sent as one server-sent event about every 500 ms. */
export interface ClusterView {
  readonly at: number;
  /** The node whose page this is. */
  readonly servedBy: string;
  readonly clusterId: string | null;
  /** The leader: whom the serving node names, else the member that says it leads in the highest term; null during an election. */
  readonly leader: string | null;
  /** The highest term a member reports. */
  readonly term: number;
  /** The members of the configuration in force, as the serving node knows it. */
  readonly members: readonly MemberView[];
  /** Entries committed per second, over the last few samples. */
  readonly commitsPerSecond: number;
  /** Entries committed per second in each sample, oldest first, one every `sampleMs`. */
  readonly throughput: readonly number[];
  readonly sampleMs: number;
  /** Recent events, oldest first. */
  readonly events: readonly DashboardEvent[];
}

/**
 * The members of the serving node's configuration, each with what it said of itself: the serving
 * node from its own status, every other one from its `/status` answer in `peers` (a member missing
 * there is down, not asked yet). Lag is measured against the commit index of the leader `own` names,
 * when it answered.
 */
export function memberViews(own: GraftStatus, peers: ReadonlyMap<string, PeerAnswer>): MemberView[] {
  const views = own.members.map((member): MemberView => {
    const base = { id: member.id, address: member.address, suffrage: member.role, self: member.id === own.id };
    const answer: PeerAnswer = base.self ? { up: true, status: own } : (peers.get(member.id) ?? { up: false, reason: 'not asked yet' });
    if (!answer.up) {
      return {
        ...base,
        state: 'down',
        reason: answer.reason,
        role: null,
        term: null,
        leader: null,
        commitIndex: null,
        appliedIndex: null,
        snapshotIndex: null,
        lag: null,
      };
    }
    const { role, term, leader, commitIndex, appliedIndex, snapshotIndex } = answer.status;
    return { ...base, state: 'up', reason: null, role, term, leader, commitIndex, appliedIndex, snapshotIndex, lag: null };
  });
  const leader = leaderOf(own, views);
  const leaderCommit = views.find((m) => m.id === leader && m.state === 'up')?.commitIndex ?? null;
  return views.map((m) => (leaderCommit === null || m.appliedIndex === null ? m : { ...m, lag: Math.max(0, leaderCommit - m.appliedIndex) }));
}

/**
 * Who leads: the leader the serving node names; when it knows none (it is in an election, or cut
 * off), the member that says it leads in the highest term, if any does.
 */
export function leaderOf(own: GraftStatus, members: readonly MemberView[]): string | null {
  if (own.leader !== null) return own.leader;
  let found: MemberView | null = null;
  for (const m of members) {
    if (m.state === 'up' && m.role === 'Leader' && (found === null || (m.term ?? 0) > (found.term ?? 0))) found = m;
  }
  return found?.id ?? null;
}

/**
 * What changed between two successive views of the members, as events: a member going down (with
 * why) or coming back up, and a new snapshot on a member other than the serving node (whose own
 * snapshots are reported from its status on every sample). A member the previous view lacks (the
 * first view, a new member) counts as up before it, so one that is down from the start is reported.
 */
export function memberChanges(previous: readonly MemberView[] | null, next: readonly MemberView[], at: number): DashboardEvent[] {
  const before = new Map((previous ?? []).map((m) => [m.id, m]));
  const events: DashboardEvent[] = [];
  for (const m of next) {
    const was = before.get(m.id);
    const wasUp = was === undefined || was.state === 'up';
    if (m.state === 'down' && wasUp) events.push({ at, kind: 'connection', text: `node ${m.id} is down: ${m.reason}` });
    if (m.state === 'up' && was !== undefined && was.state === 'down') events.push({ at, kind: 'connection', text: `node ${m.id} is up` });
    if (!m.self && m.state === 'up' && was?.state === 'up' && (m.snapshotIndex ?? 0) > (was.snapshotIndex ?? 0)) {
      events.push({ at, kind: 'snapshot', text: snapshotText(m.id, m.snapshotIndex ?? 0) });
    }
  }
  return events;
}

/** The words for a new snapshot of node `id`, covering the log up to `index`. */
export function snapshotText(id: string, index: number): string {
  return `node ${id} has a new snapshot, up to index ${index}`;
}
