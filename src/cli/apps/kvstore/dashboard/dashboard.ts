import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraftError, type GraftEvents, type GraftStatus } from '../../../../index.ts';
import { leaderOf, memberChanges, memberViews, snapshotText, type ClusterView, type DashboardEvent, type MemberView } from './cluster-view.ts';
import { CommitRate } from './commit-rate.ts';
import { EventRing } from './event-ring.ts';
import { EventStream, formatEvent } from './event-stream.ts';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './page.ts';
import { PeerStatusClient, type PeerAnswer, type PeerCredentials } from './peer-status.ts';

/** Where the page gets its views: a `text/event-stream` of `view` events, each a ClusterView. */
export const DASHBOARD_EVENTS_PATH = '/dashboard/events';

/** What the dashboard watches of the node's GraftInstance: its status and its events (public API only). */
export interface WatchedGraft {
  /** This node's machine id. */
  readonly id: string;
  status(): GraftStatus;
  on<E extends keyof GraftEvents>(event: E, listener: (...args: GraftEvents[E]) => void): unknown;
  off<E extends keyof GraftEvents>(event: E, listener: (...args: GraftEvents[E]) => void): unknown;
}

/** How the dashboard runs; every field has a default fit for a person watching. */
export interface DashboardOptions {
  /** How the node reaches its peers' `/status`: its TLS identity and client token. */
  readonly credentials: PeerCredentials;
  /** How often the node samples its status and, while a page watches, asks its peers, in ms. */
  readonly intervalMs?: number;
  /** How long a peer may take to answer before it is shown as down, in ms. */
  readonly peerTimeoutMs?: number;
  /** How many recent events are kept. */
  readonly eventCapacity?: number;
  /** The wall clock events are stamped with (ms since the epoch). */
  readonly now?: () => number;
  /** Told of a sample that failed unexpectedly: the dashboard goes on with the next one, and never takes the node down. */
  readonly onError?: (error: Error) => void;
}

/**
 * The live dashboard of one node: `GET /` is the page, `GET /dashboard/events` its stream of views.
 *
 * Every `intervalMs` the node samples its own status (throughput, its own snapshots); while at least
 * one page is open, it also asks every other member for its `/status` and sends the pages a view of
 * the whole cluster. Recent events come from the GraftInstance's events (leader, role, membership,
 * removal), from its snapshot index, and from members going down and up, in a bounded ring.
 * `close()` stops it; it owns a timer, peer connections and the open streams.
 */
export class Dashboard {
  private readonly graft: WatchedGraft;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly onError: (error: Error) => void;
  private readonly peers: PeerStatusClient;
  private readonly events: EventRing<DashboardEvent>;
  private readonly rate = new CommitRate();
  private readonly stream = new EventStream();
  private readonly listeners: { [E in keyof GraftEvents]?: (...args: GraftEvents[E]) => void } = {};
  private timer: NodeJS.Timeout | null = null;
  /** Whether a sample is under way (it may wait for peers): samples never overlap. */
  private sampling = false;
  private closed = false;
  private ownSnapshotIndex: number | null = null;
  private previousMembers: readonly MemberView[] | null = null;
  /** The last view sent, and when: given at once to a page that opens soon after. */
  private latest: { message: string; at: number } | null = null;

  constructor(graft: WatchedGraft, options: DashboardOptions) {
    this.graft = graft;
    this.intervalMs = options.intervalMs ?? 500;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.peers = new PeerStatusClient(options.credentials, options.peerTimeoutMs ?? 1000);
    this.events = new EventRing(options.eventCapacity ?? 50);
    this.listen('leader', (leader, term) =>
      this.record('leader', leader === null ? `no leader known in term ${term}` : `node ${leader} leads in term ${term}`),
    );
    this.listen('role', (role, term) => this.record('role', `node ${graft.id} is ${role} in term ${term}`));
    this.listen('membership', (members, index) => {
      const voters = members.filter((m) => m.role === 'voter').map((m) => m.id);
      const learners = members.filter((m) => m.role === 'learner').map((m) => m.id);
      this.record(
        'membership',
        `members from index ${index}: voters ${voters.join(', ') || 'none'}${learners.length === 0 ? '' : `; learners ${learners.join(', ')}`}`,
      );
    });
    this.listen('removed', (index) => this.record('removed', `node ${graft.id} was removed from the cluster at index ${index}`));
    this.schedule(0);
  }

  /**
   * Answers `GET /` (the page) and `GET /dashboard/events` (its stream) and returns true; returns
   * false, having done nothing, for any other path. Any method but GET on these paths is a 405.
   */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (url.pathname !== '/' && url.pathname !== DASHBOARD_EVENTS_PATH) return false;
    if (req.method !== 'GET') {
      const text = JSON.stringify({ error: `${req.method} ${url.pathname} is not supported; use GET` });
      res.writeHead(405, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), allow: 'GET' });
      res.end(text);
      return true;
    }
    if (url.pathname === '/') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(DASHBOARD_HTML),
        'cache-control': 'no-store',
        'content-security-policy': DASHBOARD_CSP,
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
      });
      res.end(DASHBOARD_HTML);
      return true;
    }
    const fresh = this.latest !== null && this.now() - this.latest.at < 2 * this.intervalMs ? this.latest.message : null;
    // A page that opens after a while without one gets a view of the whole cluster now, not at the next sample.
    if (this.stream.open(req, res, fresh) && fresh === null) this.schedule(0);
    return true;
  }

  /** Stops sampling, ends the streams and closes the peer connections; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const [event, listener] of Object.entries(this.listeners)) this.graft.off(event as keyof GraftEvents, listener as never);
    this.stream.close();
    this.peers.close();
  }

  private listen<E extends keyof GraftEvents>(event: E, listener: (...args: GraftEvents[E]) => void): void {
    (this.listeners as Record<E, typeof listener>)[event] = listener;
    this.graft.on(event, listener);
  }

  private record(kind: DashboardEvent['kind'], text: string): void {
    this.events.push({ at: this.now(), kind, text });
  }

  /** Runs the next sample in `delayMs`, unless one is under way (it schedules the next when done). */
  private schedule(delayMs: number): void {
    if (this.closed || this.sampling) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sample(), delayMs);
    // A dashboard alone never keeps the process alive.
    this.timer.unref();
  }

  private async sample(): Promise<void> {
    this.timer = null;
    this.sampling = true;
    const started = this.now();
    try {
      const own = this.ownStatus();
      if (own !== null) {
        this.rate.sample(own.commitIndex, started);
        if (this.ownSnapshotIndex !== null && own.snapshotIndex > this.ownSnapshotIndex) this.record('snapshot', snapshotText(own.id, own.snapshotIndex));
        this.ownSnapshotIndex = own.snapshotIndex;
        if (this.stream.size > 0) await this.sendView(own);
      }
    } catch (error) {
      this.onError(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.sampling = false;
    }
    this.schedule(Math.max(0, this.intervalMs - (this.now() - started)));
  }

  /** The node's status; null before it has started (the port listens a little earlier). */
  private ownStatus(): GraftStatus | null {
    try {
      return this.graft.status();
    } catch (error) {
      if (error instanceof GraftError && error.code === 'NOT_STARTED') return null;
      throw error;
    }
  }

  /** Asks every other member for its status, and sends the open pages the view of the cluster. */
  private async sendView(before: GraftStatus): Promise<void> {
    const others = before.members.filter((m) => m.id !== before.id);
    const answers = await Promise.all(others.map(async (m): Promise<[string, PeerAnswer]> => [m.id, await this.peers.fetch(m.address)]));
    if (this.closed) return;
    const own = this.graft.status();
    const at = this.now();
    const members = memberViews(own, new Map(answers));
    for (const event of memberChanges(this.previousMembers, members, at)) this.events.push(event);
    this.previousMembers = members;
    const view: ClusterView = {
      at,
      servedBy: own.id,
      clusterId: own.clusterId,
      leader: leaderOf(own, members),
      term: Math.max(own.term, ...members.map((m) => m.term ?? 0)),
      members,
      commitsPerSecond: this.rate.perSecond(),
      throughput: this.rate.history(),
      sampleMs: this.intervalMs,
      events: this.events.list(),
    };
    const message = formatEvent('view', view);
    this.latest = { message, at };
    this.stream.broadcast(message);
  }
}
