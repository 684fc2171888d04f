import type { RuntimeScenario } from './runtime-sim.ts';
import type { FaultProfile, Scenario } from './simulation.ts';

const calm: FaultProfile = {
  loss: 0,
  duplicate: 0,
  delay: [0.5, 2],
  partitionEvery: 0,
  partitionLength: [0, 0],
  crashEvery: 0,
  downtime: [0, 0],
  pauseEvery: 0,
  pauseLength: [0, 0],
  drift: 0,
  diskLatency: [0.1, 1],
};

/** The scenarios every run covers: each adds faults to a healthy baseline. */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'calm-3', nodes: 3, faults: calm, faultMs: 1500, livenessMs: 1500, clients: 3, keys: 2 },
  {
    name: 'lossy-5',
    nodes: 5,
    faultMs: 2500,
    livenessMs: 2000,
    clients: 4,
    keys: 3,
    faults: { ...calm, loss: 0.1, duplicate: 0.05, delay: [0.5, 15], drift: 0.1 },
  },
  {
    name: 'partitions-5',
    nodes: 5,
    faultMs: 3000,
    livenessMs: 2000,
    clients: 4,
    keys: 3,
    faults: { ...calm, loss: 0.02, delay: [0.5, 8], partitionEvery: 300, partitionLength: [50, 600], drift: 0.05 },
  },
  {
    name: 'crashes-3',
    nodes: 3,
    faultMs: 3000,
    livenessMs: 2000,
    clients: 3,
    keys: 2,
    faults: { ...calm, loss: 0.02, delay: [0.5, 5], crashEvery: 300, downtime: [10, 400], diskLatency: [0.5, 8] },
  },
  {
    name: 'chaos-5',
    nodes: 5,
    faultMs: 3000,
    livenessMs: 2500,
    clients: 5,
    keys: 3,
    faults: {
      loss: 0.08,
      duplicate: 0.05,
      delay: [0.5, 20],
      partitionEvery: 400,
      partitionLength: [50, 500],
      crashEvery: 400,
      downtime: [10, 400],
      pauseEvery: 500,
      pauseLength: [20, 400],
      drift: 0.15,
      diskLatency: [0.2, 6],
    },
  },
  {
    // The leader is asked to hand over leadership every ~150 ms, to healthy, lagging, cut-off and
    // crashed targets, while messages are lost and nodes crash (thesis §3.10).
    name: 'transfers-5',
    nodes: 5,
    faultMs: 3000,
    livenessMs: 2500,
    clients: 4,
    keys: 3,
    transferEvery: 150,
    faults: {
      ...calm,
      loss: 0.05,
      duplicate: 0.03,
      delay: [0.5, 10],
      partitionEvery: 500,
      partitionLength: [50, 400],
      crashEvery: 500,
      downtime: [10, 300],
      drift: 0.1,
    },
  },
  {
    // Disks lost (a node restarts empty and must not vote until a leader has caught it up) and
    // messages no correct peer sends (numbers beyond what a node holds, claims beyond its log),
    // among crashes, partitions and loss.
    name: 'lost-disks-5',
    nodes: 5,
    faultMs: 3000,
    livenessMs: 2500,
    clients: 4,
    keys: 3,
    faults: {
      ...calm,
      loss: 0.05,
      duplicate: 0.03,
      delay: [0.5, 10],
      partitionEvery: 500,
      partitionLength: [50, 400],
      crashEvery: 500,
      downtime: [10, 300],
      pauseEvery: 700,
      pauseLength: [20, 300],
      drift: 0.1,
      wipeEvery: 400,
      hostileEvery: 30,
    },
  },
  {
    name: 'lost-disks-3',
    nodes: 3,
    faultMs: 3000,
    livenessMs: 2500,
    clients: 3,
    keys: 2,
    faults: {
      ...calm,
      loss: 0.03,
      delay: [0.5, 6],
      partitionEvery: 600,
      partitionLength: [50, 300],
      crashEvery: 600,
      downtime: [10, 300],
      drift: 0.1,
      wipeEvery: 400,
      hostileEvery: 30,
    },
  },
  {
    // Snapshots all the time (§7): every node compacts its log every few entries, so followers that
    // were away, crashed or lost their disk catch up through InstallSnapshot, among all the faults.
    name: 'snapshots-5',
    nodes: 5,
    faultMs: 3000,
    livenessMs: 2500,
    clients: 5,
    keys: 3,
    snapshotEvery: 7,
    faults: {
      ...calm,
      loss: 0.05,
      duplicate: 0.03,
      delay: [0.5, 12],
      partitionEvery: 400,
      partitionLength: [50, 500],
      crashEvery: 400,
      downtime: [10, 400],
      pauseEvery: 600,
      pauseLength: [20, 300],
      drift: 0.1,
      wipeEvery: 700,
    },
  },
  {
    name: 'snapshots-3',
    nodes: 3,
    faultMs: 3000,
    livenessMs: 2500,
    clients: 3,
    keys: 2,
    snapshotEvery: 3,
    faults: {
      ...calm,
      loss: 0.03,
      duplicate: 0.03,
      delay: [0.5, 8],
      partitionEvery: 500,
      partitionLength: [50, 400],
      crashEvery: 500,
      downtime: [10, 300],
      drift: 0.1,
      wipeEvery: 900,
    },
  },
  {
    // One entry per append: followers acknowledge a little at a time, which exercises probing,
    // pipelining and the §5.4.2 commit rule (Figure 8) much harder.
    name: 'trickle-5',
    nodes: 5,
    faultMs: 3000,
    livenessMs: 2500,
    clients: 5,
    keys: 3,
    maxEntriesPerMessage: 1,
    faults: {
      loss: 0.05,
      duplicate: 0.02,
      delay: [0.5, 12],
      partitionEvery: 300,
      partitionLength: [30, 400],
      crashEvery: 250,
      downtime: [10, 300],
      pauseEvery: 0,
      pauseLength: [0, 0],
      drift: 0.1,
      diskLatency: [0.2, 4],
    },
  },
];

export function scenarioNamed(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no scenario "${name}"; the scenarios are ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}

/** Reads served from the leader lease (thesis §6.4.1) while leaders are cut off, crash and come back. */
const leaseReads: RuntimeScenario = {
  // Reads served from the leader lease (thesis §6.4.1) while leaders are cut off, crash and come
  // back; clock rates drift apart, but within the 10% the lease allows for.
  name: 'runtime-lease-3',
  nodes: 3,
  faultMs: 4000,
  livenessMs: 2000,
  clients: 6,
  keys: 1,
  readMode: 'lease',
  faults: {
    loss: 0.02,
    duplicate: 0.02,
    delay: [0.5, 6],
    partitionEvery: 300,
    partitionLength: [100, 700],
    crashEvery: 700,
    downtime: [5, 300],
    drift: 0.05,
    diskLatency: [0.2, 2],
  },
};

/** Scenarios of the runtime simulation: real GraftInstances on simulated time, network and disks. */
export const RUNTIME_SCENARIOS: readonly RuntimeScenario[] = [
  {
    name: 'runtime-chaos-3',
    nodes: 3,
    faultMs: 3000,
    livenessMs: 3000,
    clients: 4,
    keys: 2,
    faults: {
      loss: 0.05,
      duplicate: 0.03,
      delay: [0.5, 10],
      partitionEvery: 500,
      partitionLength: [50, 500],
      crashEvery: 500,
      downtime: [20, 400],
      drift: 0.1,
      diskLatency: [0.2, 5],
    },
  },
  {
    name: 'runtime-chaos-5',
    nodes: 5,
    faultMs: 3000,
    livenessMs: 3000,
    clients: 5,
    keys: 3,
    faults: {
      loss: 0.08,
      duplicate: 0.05,
      delay: [0.5, 20],
      partitionEvery: 400,
      partitionLength: [50, 500],
      crashEvery: 400,
      downtime: [20, 400],
      drift: 0.15,
      diskLatency: [0.2, 6],
    },
  },
  {
    // Many duplicated frames, lost answers and leader changes: operations are sent again and again,
    // and each must still be applied once (client sessions, thesis §6.3).
    name: 'runtime-retries-3',
    nodes: 3,
    faultMs: 3000,
    livenessMs: 3000,
    clients: 6,
    keys: 2,
    faults: {
      loss: 0.15,
      duplicate: 0.25,
      delay: [0.5, 25],
      partitionEvery: 300,
      partitionLength: [50, 400],
      crashEvery: 600,
      downtime: [20, 300],
      drift: 0.1,
      diskLatency: [0.2, 5],
    },
  },
  leaseReads,
  {
    // Long partitions with pre-vote and check-quorum off: a cut-off leader keeps believing it leads,
    // so only ReadIndex's quorum round keeps its reads from going stale.
    name: 'runtime-partitions-3',
    nodes: 3,
    faultMs: 4000,
    livenessMs: 2000,
    clients: 6,
    keys: 1,
    preVote: false,
    checkQuorum: false,
    faults: {
      loss: 0.01,
      duplicate: 0,
      delay: [0.5, 4],
      partitionEvery: 300,
      partitionLength: [200, 800],
      crashEvery: 0,
      downtime: [0, 0],
      drift: 0.05,
      diskLatency: [0.2, 2],
    },
  },
  {
    // The same, but the leader stops for longer than its lease (a long GC, a suspended VM) while
    // partitions come and go: on resume it must not serve a lease read before a fresh round confirms it.
    ...leaseReads,
    name: 'runtime-lease-pauses-3',
    faults: { ...leaseReads.faults, partitionEvery: 250, crashEvery: 0, downtime: [0, 0], pauseEvery: 250, pauseLength: [90, 400], pauseLeader: true },
  },
  {
    // What the real world does beyond crashes: disks that fill up or fail a write or a sync (the node
    // must stop, acknowledging nothing of that write, and be caught up after its restart), data
    // directories lost (the node restarts empty and must not vote until caught up), and frames with
    // numbers beyond what a node holds or claims beyond its log, which must change nothing.
    name: 'runtime-disks-3',
    nodes: 3,
    faultMs: 4000,
    livenessMs: 3000,
    clients: 5,
    keys: 2,
    faults: {
      loss: 0.03,
      duplicate: 0.03,
      delay: [0.5, 8],
      partitionEvery: 600,
      partitionLength: [50, 400],
      crashEvery: 700,
      downtime: [20, 300],
      drift: 0.1,
      diskLatency: [0.2, 4],
      diskFaultEvery: 300,
      wipeEvery: 800,
      hostileEvery: 40,
    },
  },
  {
    name: 'runtime-disks-5',
    nodes: 5,
    faultMs: 4000,
    livenessMs: 3000,
    clients: 5,
    keys: 3,
    faults: {
      loss: 0.05,
      duplicate: 0.03,
      delay: [0.5, 12],
      partitionEvery: 500,
      partitionLength: [50, 500],
      crashEvery: 500,
      downtime: [20, 300],
      drift: 0.1,
      diskLatency: [0.2, 5],
      diskFaultEvery: 250,
      wipeEvery: 600,
      hostileEvery: 40,
    },
  },
];

export function runtimeScenarioNamed(name: string): RuntimeScenario {
  const found = RUNTIME_SCENARIOS.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no runtime scenario "${name}"; they are ${RUNTIME_SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}
