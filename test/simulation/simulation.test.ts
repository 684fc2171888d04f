import { expect } from 'chai';
import { SCENARIOS, scenarioNamed } from './scenarios.ts';
import { runSimulation, SimulationFailure } from './simulation.ts';

/** Seeds per scenario in `npm test`; `npm run sim -- --seeds N` runs more. */
const SEEDS = Number(process.env['GRAFT_SIM_SEEDS'] ?? 150);

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

  it('a seed replays exactly: the same seed gives the same run', () => {
    const scenario = scenarioNamed('chaos-5');
    const a = runSimulation(scenario, 4242, { trace: true });
    const b = runSimulation(scenario, 4242, { trace: true });
    expect(a.trace).to.deep.equal(b.trace);
    expect(a.events).to.equal(b.events);
    expect(runSimulation(scenario, 4243, { trace: true }).trace).to.not.deep.equal(a.trace);
  });

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
    expect(first.message).to.match(/failed with seed \d+: (leader completeness|state machine safety|log matching|election safety|core invariant|linearizability) violated/);
    expect(first.message).to.contain(`npm run sim -- --scenario partitions-5 --seed ${first.seed} --trace`);
    expect(first.trace.length).to.be.greaterThan(0);
  });
});
