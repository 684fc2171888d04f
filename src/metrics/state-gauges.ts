import { Gauge, type Registry, type RegistryContentType } from 'prom-client';
import type { NodeId, Role } from '../core/types.ts';

/** Where the gauges read the node's state, at scrape time. */
export interface NodeStateSource {
  /** This node's role, term and indexes now; null before it has started (its state is not loaded yet). */
  view(): { readonly role: Role | 'Stopped'; readonly term: number; readonly commitIndex: number; readonly appliedIndex: number } | null;
  /** The other members of the configuration in force (none before start). */
  peers(): readonly NodeId[];
  /** While this node leads: how far each member's log is known to match its own, and its last index. Null otherwise. */
  replication(): { readonly matchIndexes: ReadonlyMap<NodeId, number>; readonly lastIndex: number } | null;
  /** Whether the connection to `peer` is open. */
  connected(peer: NodeId): boolean;
}

/** Every value `graft_role` has a line for, so that a role's line reads 0 rather than vanishing when the node leaves it. */
const ROLES: readonly (Role | 'Stopped')[] = ['Follower', 'PreCandidate', 'Candidate', 'Leader', 'Stopped'];

/**
 * Registers the gauges that mirror the node's state. Each reads the state when scraped (prom-client
 * `collect`), so nothing is updated as the state changes, and a scrape shows it as it is.
 */
export function registerStateGauges(registry: Registry<RegistryContentType>, source: NodeStateSource): void {
  const registers = [registry];
  new Gauge({
    name: 'graft_role',
    help: "This node's role: 1 on the line of the role it has, 0 on the others (Stopped: stopped, or failed)",
    labelNames: ['role'],
    registers,
    collect() {
      const role = source.view()?.role;
      for (const each of ROLES) this.set({ role: each }, each === role ? 1 : 0);
    },
  });
  new Gauge({
    name: 'graft_term',
    help: 'The current term (Raft §5.1)',
    registers,
    collect() {
      this.set(source.view()?.term ?? 0);
    },
  });
  new Gauge({
    name: 'graft_commit_index',
    help: 'The highest log index this node knows to be committed',
    registers,
    collect() {
      this.set(source.view()?.commitIndex ?? 0);
    },
  });
  new Gauge({
    name: 'graft_applied_index',
    help: 'The highest log index applied to the state machine on this node',
    registers,
    collect() {
      this.set(source.view()?.appliedIndex ?? 0);
    },
  });
  new Gauge({
    name: 'graft_peer_match_index',
    help: 'On the leader: the highest log index each peer is known to hold (absent on other nodes)',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      const replication = source.replication();
      if (replication === null) return;
      for (const peer of source.peers()) this.set({ peer }, replication.matchIndexes.get(peer) ?? 0);
    },
  });
  new Gauge({
    name: 'graft_peer_lag_entries',
    help: 'On the leader: how many entries of its log each peer has yet to acknowledge (absent on other nodes)',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      const replication = source.replication();
      if (replication === null) return;
      for (const peer of source.peers()) this.set({ peer }, Math.max(0, replication.lastIndex - (replication.matchIndexes.get(peer) ?? 0)));
    },
  });
  new Gauge({
    name: 'graft_peer_connected',
    help: 'Whether the connection to each peer is open: 1, or 0',
    labelNames: ['peer'],
    registers,
    collect() {
      this.reset();
      for (const peer of source.peers()) this.set({ peer }, source.connected(peer) ? 1 : 0);
    },
  });
}
