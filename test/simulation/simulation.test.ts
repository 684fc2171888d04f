import { expect } from 'chai';
import { runRuntimeSimulation, type RuntimeScenario } from './runtime-sim.ts';
import { RUNTIME_SCENARIOS, SCENARIOS, runtimeScenarioNamed, scenarioNamed } from './scenarios.ts';
import { runSimulation, SimulationFailure } from './simulation.ts';

/** Runs seeds 1 to `maxSeeds` of a runtime scenario until one fails, and returns that failure (null if none did). */
async function firstRuntimeFailure(scenario: RuntimeScenario, maxSeeds: number): Promise<SimulationFailure | null> {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const failure = await runRuntimeSimulation(scenario, seed).then(
      () => null,
      (error: unknown) => error,
    );
    if (failure !== null) {
      expect(failure).to.be.instanceOf(SimulationFailure);
      return failure as SimulationFailure;
    }
  }
  return null;
}

/** Seeds per scenario in `npm test`; `npm run sim -- --seeds N` runs more. */
const SEEDS = Number(process.env['GRAFT_SIM_SEEDS'] ?? 150);
/** The runtime simulation is slower (real promises and event-loop turns): fewer seeds. */
const RUNTIME_SEEDS = Math.ceil(SEEDS / 2);

describe('simulation: the real core under seeded faults', function () {
  this.timeout(120_000);

  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: ${SEEDS} seeds keep every safety property, converge, and give linearizable histories`, () => {
      let acknowledged = 0;
      for (let seed = 1; seed <= SEEDS; seed++) acknowledged += runSimulation(scenario, seed).acknowledged;
      // The clients got work done: a run that acknowledged nothing would prove nothing.
      expect(acknowledged).to.be.greaterThan(SEEDS * 10);
    });
  }

  for (const scenario of RUNTIME_SCENARIOS) {
    it(`${scenario.name}: ${RUNTIME_SEEDS} seeds of real GraftInstances converge to one state with linearizable histories`, async () => {
      let acknowledged = 0;
      for (let seed = 1; seed <= RUNTIME_SEEDS; seed++) acknowledged += (await runRuntimeSimulation(scenario, seed)).acknowledged;
      expect(acknowledged).to.be.greaterThan(RUNTIME_SEEDS * 10);
    });
  }

  it('a seed replays exactly: the same seed gives the same run', () => {
    const scenario = scenarioNamed('chaos-5');
    const a = runSimulation(scenario, 4242, { trace: true });
    const b = runSimulation(scenario, 4242, { trace: true });
    expect(a.trace).to.deep.equal(b.trace);
    expect(a.events).to.equal(b.events);
    expect(runSimulation(scenario, 4243, { trace: true }).trace).to.not.deep.equal(a.trace);
  });

  it('a runtime seed replays exactly too: the same seed gives the same run', async () => {
    const scenario = runtimeScenarioNamed('runtime-chaos-5');
    const a = await runRuntimeSimulation(scenario, 31);
    const b = await runRuntimeSimulation(scenario, 31);
    expect(b).to.deep.equal(a);
    expect(a.trace.length).to.be.greaterThan(0);
  });

  it("sabotage: with reads served without ReadIndex's quorum round, the linearizability checker finds a stale read", async () => {
    const sabotaged = { ...runtimeScenarioNamed('runtime-partitions-3'), sabotage: 'read-without-quorum' as const };
    const failure = await firstRuntimeFailure(sabotaged, 30);
    expect(failure, 'seeds of 30 with a stale read found').to.not.equal(null);
    expect(failure!.message).to.match(/linearizability violated: the history of key k0 is not linearizable/);
  });

  it('sabotage: with a leader lease that never runs out, the linearizability checker finds a stale read', async () => {
    // A stale lease read needs a leader cut off while another is elected and written to: rarer than
    // other findings, so this looks further (about one seed in twenty finds it).
    const sabotaged = { ...runtimeScenarioNamed('runtime-lease-3'), sabotage: 'lease-never-expires' as const };
    const failure = await firstRuntimeFailure(sabotaged, 150);
    expect(failure, 'seeds of 150 with a stale read found').to.not.equal(null);
    expect(failure!.message).to.match(/linearizability violated/);
  });

  it('sabotage: with a lease counted in ticks alone, a leader paused past its lease serves stale reads on resume, and the checker finds them', async () => {
    const sabotaged = { ...runtimeScenarioNamed('runtime-lease-pauses-3'), sabotage: 'lease-ignores-pauses' as const };
    const failure = await firstRuntimeFailure(sabotaged, 30);
    expect(failure, 'seeds of 30 with a stale read found').to.not.equal(null);
    expect(failure!.message).to.match(/linearizability violated/);
  });

  it('sabotage: with a log that ignores short writes, a node acknowledges what its full disk did not hold, and the durability check finds it', async () => {
    const sabotaged = { ...runtimeScenarioNamed('runtime-disks-3'), sabotage: 'ignore-short-write' as const };
    const failure = await firstRuntimeFailure(sabotaged, 30);
    expect(failure, 'seeds of 30 with a violation found').to.not.equal(null);
    expect(failure!.message).to.match(/(durability|recovery) violated: node \d /);
  });

  it('sabotage: with the session table ignored, an operation sent twice is applied twice, and the simulation says so', async () => {
    // The leader drops most copies before they reach the log; those left come from leader changes.
    const sabotaged = { ...runtimeScenarioNamed('runtime-retries-3'), sabotage: 'apply-duplicates' as const };
    const failure = await firstRuntimeFailure(sabotaged, 30);
    expect(failure, 'seeds of 30 with a double application found').to.not.equal(null);
    expect(failure!.message).to.match(/exactly-once violated: node \d: .* applied a second time/);
  });

  it('sabotage: in the runtime, a core that installs a snapshot older than its commit index is caught before the state machine goes back', async () => {
    // The receiver saves no state for a snapshot already covered, so the only state the core could install is one it was not given.
    // A stale InstallSnapshot reaches a core only when a follower caught up while the snapshot was on its way: about one seed in fifty.
    const sabotaged = { ...runtimeScenarioNamed('runtime-snapshots-3'), sabotage: 'install-stale-snapshot' as const };
    const failure = await firstRuntimeFailure(sabotaged, 150);
    expect(failure, 'seeds of 150 with the stale install caught').to.not.equal(null);
    expect(failure!.message).to.match(
      /node \d stopped with no disk fault injected: the core installs snapshot \d+, (which was not the one received|at or below the applied index \d+)/,
    );
  });

  it('sabotage: with a snapshot installed though it is older than what the follower committed, the simulator finds the regression', () => {
    const sabotaged = { ...scenarioNamed('snapshots-3'), sabotage: 'install-stale-snapshot' as const };
    let failure: SimulationFailure | null = null;
    for (let seed = 1; seed <= 10 && failure === null; seed++) {
      try {
        runSimulation(sabotaged, seed);
      } catch (error) {
        expect(error).to.be.instanceOf(SimulationFailure);
        failure = error as SimulationFailure;
      }
    }
    expect(failure, 'seeds of 10 with a violation found').to.not.equal(null);
    expect(failure!.message).to.match(/state machine safety violated: \d installed a snapshot of index \d+ over the state it had applied up to \d+/);
  });

  for (const [sabotage, scenario, seeds] of [
    // A change straight from the old voters to the new: a quorum of each may be disjoint.
    ['change-without-joint', 'membership-3', 30],
    // Joint, but committed by the new voters alone, so the leader moves on before the old majority knows.
    ['joint-commit-by-incoming-only', 'membership-5', 30],
  ] as const) {
    it(`sabotage: with ${sabotage}, the simulator finds a commit that no quorum of both configurations made`, function () {
      this.timeout(60_000);
      let failure: SimulationFailure | null = null;
      for (let seed = 1; seed <= seeds && failure === null; seed++) {
        try {
          runSimulation({ ...scenarioNamed(scenario), sabotage }, seed);
        } catch (error) {
          expect(error).to.be.instanceOf(SimulationFailure);
          failure = error as SimulationFailure;
        }
      }
      expect(failure, `a violation in ${seeds} seeds`).to.not.equal(null);
      expect(failure!.message).to.match(/(quorum overlap|commit quorum) violated/);
    });
  }

  it('sabotage: with votes granted without the §5.4.1 log check, the simulator finds a violation and names its seed', () => {
    const sabotaged = { ...scenarioNamed('partitions-5'), sabotage: 'vote-without-log-check' as const };
    const failures: SimulationFailure[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      try {
        runSimulation(sabotaged, seed);
      } catch (error) {
        expect(error).to.be.instanceOf(SimulationFailure);
        failures.push(error as SimulationFailure);
      }
    }
    expect(failures.length, 'seeds of 10 with a violation found').to.be.greaterThan(0);
    const first = failures[0]!;
    expect(first.message).to.match(
      /failed with seed \d+: (leader completeness|state machine safety|log matching|election safety|core invariant|linearizability) violated/,
    );
    expect(first.message).to.contain(`npm run sim -- --scenario partitions-5 --seed ${first.seed} --trace`);
    expect(first.trace.length).to.be.greaterThan(0);
  });
});

/** Seeds that once failed, each kept with what it found. */
describe('simulation: regression seeds', function () {
  this.timeout(60_000);

  it('chaos-5 seed 1693: a paused candidate that wins a stale term is not held to entries committed in later terms', () => {
    // The checker once compared a leader against every committed entry; the paper's guarantee covers
    // entries committed in earlier terms only (§5.4, Leader Completeness). Replayed without pre-vote
    // and check-quorum, which did not exist then. The schedule is no longer exactly the one found:
    // the rule for nodes that start on empty storage (RaftCore's Rejoin) changed its hard-state writes.
    runSimulation({ ...scenarioNamed('chaos-5'), preVote: false, checkQuorum: false }, 1693);
  });

  it('snapshots-3 seed 2595: a node that lost its data votes only once it holds what the leader had announced as committed', () => {
    // Node 3 lost its disk after acknowledging entries 95-96, which leader 1 then committed; it was
    // caught up by a snapshot at 94 (an entry of the leader's term) and voted for node 2, which lacked
    // 95-96, once node 1 crashed: leader completeness broken. It now waits for the announced commit index.
    runSimulation(scenarioNamed('snapshots-3'), 2595);
  });

  it('membership-3 seed 93: a learner is promoted only once it holds the log', () => {
    // A node added straight as a voter had received nothing; removing another voter then made its vote
    // necessary, and an empty node votes for no one until a leader catches it up (RejoinGuard). The
    // simulation now adds voters only through learners; the core's refusal is pinned in membership-change.test.ts.
    runSimulation(scenarioNamed('membership-3'), 93);
  });

  it('membership-3 seed 346: no change leaves a quorum that depends on voters without the log', () => {
    // Leader 3 removed node 1 before committing an entry of its term, when "holds everything committed"
    // was true of an empty node 2; node 3 then needed 2's vote, which 2 held back. (Pinned in membership-change.test.ts.)
    runSimulation(scenarioNamed('membership-3'), 346);
  });

  it('membership-3 seed 71: a node holding the uncommitted entry that removes it may still be elected, to commit it', () => {
    // Leader 1 appended the configuration without itself, stepped down before it committed, and refused
    // its votes to 2 and 3 (their logs lacked the entry) while the joint configuration they held needed it.
    // (Pinned in membership-change.test.ts.)
    runSimulation(scenarioNamed('membership-3'), 71);
  });

  it('runtime-chaos-3 seed 6: a duplicated forwarded request is not appended twice', async () => {
    // The network repeated a Forward frame; the leader appended the compare-and-set twice and the
    // caller saw the second copy's "false" although its swap had happened. (Pre-vote has since changed
    // this seed's schedule; test/unit/forwarding.test.ts pins the fix itself.)
    await runRuntimeSimulation(runtimeScenarioNamed('runtime-chaos-3'), 6);
  });

  it('runtime-disks-3 seed 5119: a rejoining node does not lift its mark on disk ahead of the entries that lifted it', async () => {
    // A node back from a lost data directory lifted its rejoin mark in the same write as the entries that
    // lifted it; the disk filled up mid-write, the crash kept the hard state but not the entries, and the
    // node, now an ordinary voter with a two-entry log, helped elect a leader that lacked a committed
    // write. (The fix changes this seed's schedule; test/integration/rejoin-order.test.ts pins the rule.)
    await runRuntimeSimulation(runtimeScenarioNamed('runtime-disks-3'), 5119);
  });

  it('runtime-snapshots-5 seed 20624: a snapshot handed to the core stays installable when another arrives before the loop installs it', async () => {
    // The core took one leader snapshot; before the loop turn that installs it, a second transfer (one
    // already covered) reached the core, and the runtime had kept only the last snapshot it was handed.
    await runRuntimeSimulation(runtimeScenarioNamed('runtime-snapshots-5'), 20624);
  });
});
