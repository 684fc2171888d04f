import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import type { NodeId, Role } from '../core/types.ts';
import { ElectionTally } from './election-tally.ts';
import { registerHistogram } from './histogram-metric.ts';
import type { PeerByteCounter, PeerByteCounters, RuntimeObserver } from './hooks.ts';
import { COMMIT_LATENCY_BOUNDS, FSYNC_BOUNDS, SecondsHistogram, SNAPSHOT_DURATION_BOUNDS } from './seconds-histogram.ts';
import { registerStateGauges, type NodeStateSource } from './state-gauges.ts';

/**
 * One node's metrics in a prom-client registry. The hot paths (proposing, committing, fsync, frames
 * to peers) add to plain numbers and typed arrays through the hooks this object hands out; the
 * registry reads those, and the node's state, only when it is scraped.
 */
export class GraftMetrics implements RuntimeObserver {
  /** From `applyOperation` to its result applied on this node. */
  readonly commitLatency = new SecondsHistogram(COMMIT_LATENCY_BOUNDS);
  /** Each durable write of the write-ahead log (the O_DSYNC write, or the fdatasync after a write). */
  readonly fsyncDuration = new SecondsHistogram(FSYNC_BOUNDS);
  private readonly snapshotDuration = new SecondsHistogram(SNAPSHOT_DURATION_BOUNDS);
  private readonly elections = new ElectionTally();
  private readonly bytes = new Map<NodeId, PeerByteCounter>();
  private proposals = 0;
  private commits = 0;
  private snapshotsTaken = 0;
  private snapshotsInstalled = 0;
  private lastSnapshotBytes = 0;
  /** The byte counter of each peer, for the transport: made once per peer, then the same object. */
  readonly peerBytes: PeerByteCounters = (peer) => {
    let counter = this.bytes.get(peer);
    if (counter === undefined) {
      counter = { sent: 0, received: 0 };
      this.bytes.set(peer, counter);
    }
    return counter;
  };

  /** Registers every metric in `registry`; throws if it holds one of the same name already. */
  constructor(registry: Registry<RegistryContentType>, state: NodeStateSource) {
    registerStateGauges(registry, state);
    const total = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    total('graft_proposals_total', 'Operations this node appended to the log while leading (rate() gives proposals per second)', () => this.proposals);
    total('graft_commits_total', 'Entries committed and handed to the state machine on this node', () => this.commits);
    total('graft_elections_started_total', 'Elections this node started (terms in which it stood as candidate)', () => this.elections.started);
    total('graft_elections_won_total', 'Elections this node won (terms it led)', () => this.elections.won);
    total('graft_snapshots_total', 'Snapshots this node took of its state machine', () => this.snapshotsTaken);
    total('graft_snapshots_installed_total', "Snapshots this node installed from the leader's", () => this.snapshotsInstalled);
    const peerTotal = (name: string, help: string, read: (counter: PeerByteCounter) => number): void => {
      const bytes = this.bytes;
      new Counter({
        name,
        help,
        labelNames: ['peer'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [peer, counter] of bytes) this.inc({ peer }, read(counter));
        },
      });
    };
    peerTotal('graft_peer_sent_bytes_total', 'Bytes of peer-protocol frames sent to each peer', (c) => c.sent);
    peerTotal('graft_peer_received_bytes_total', 'Bytes of peer-protocol frames received from each peer', (c) => c.received);
    const snapshotBytes = (): number => this.lastSnapshotBytes;
    new Gauge({
      name: 'graft_snapshot_size_bytes',
      help: 'The size of the last snapshot this node took (0: none yet)',
      registers: [registry],
      collect() {
        this.set(snapshotBytes());
      },
    });
    registerHistogram(registry, 'graft_commit_latency_seconds', 'From applyOperation to its result applied on this node, in seconds', this.commitLatency);
    registerHistogram(registry, 'graft_wal_fsync_duration_seconds', 'Each fsync of the write-ahead log, in seconds', this.fsyncDuration);
    registerHistogram(registry, 'graft_snapshot_duration_seconds', 'Taking a snapshot, from capture to durable on disk, in seconds', this.snapshotDuration);
  }

  /** The runtime saw this node in `role` at `term` (each soft state it reports). */
  roleNoticed(role: Role, term: number): void {
    this.elections.noticed(role, term);
  }

  proposed(count: number): void {
    this.proposals += count;
  }

  committed(count: number): void {
    this.commits += count;
  }

  snapshotTaken(bytes: number, seconds: number): void {
    this.snapshotsTaken++;
    this.lastSnapshotBytes = bytes;
    this.snapshotDuration.observe(seconds);
  }

  snapshotInstalled(): void {
    this.snapshotsInstalled++;
  }
}
