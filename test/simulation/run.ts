import { parseArgs } from 'node:util';
import { runRuntimeSimulation } from './runtime-sim.ts';
import { RUNTIME_SCENARIOS, SCENARIOS, runtimeScenarioNamed, scenarioNamed } from './scenarios.ts';
import { runSimulation, SimulationFailure, type Scenario } from './simulation.ts';

// npm run sim -- [--seeds N] [--from S] [--scenario NAME] [--seed N --trace] [--runtime]
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    scenario: { type: 'string' },
    seed: { type: 'string' },
    trace: { type: 'boolean', default: false },
    runtime: { type: 'boolean', default: false },
  },
});

if (values.runtime) {
  // Real GraftInstances on simulated time: slower, so fewer seeds by default.
  const scenarios = values.scenario === undefined ? RUNTIME_SCENARIOS : [runtimeScenarioNamed(values.scenario)];
  const seeds = values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.from) + i);
  let failed = 0;
  for (const scenario of scenarios) {
    const started = performance.now();
    for (const seed of seeds) {
      try {
        const report = await runRuntimeSimulation(scenario, seed);
        if (values.trace) console.log(report.trace.join('\n'));
      } catch (error) {
        if (!(error instanceof SimulationFailure)) throw error;
        failed++;
        if (values.trace) console.log(error.trace.join('\n'));
        console.error(error.message.replace('--trace', '--runtime --trace'));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`${scenario.name}: ${seeds.length} seeds in ${seconds.toFixed(1)} s (${((seconds * 1000) / seeds.length).toFixed(1)} ms a seed)`);
  }
  console.log(`${failed === 0 ? 'all clean' : `${failed} failed`}: ${seeds.length * scenarios.length} runtime runs`);
  process.exit(failed > 0 ? 1 : 0);
}
const scenarios: readonly Scenario[] = values.scenario === undefined ? SCENARIOS : [scenarioNamed(values.scenario)];

if (values.seed !== undefined) {
  const seed = Number(values.seed);
  for (const scenario of scenarios) {
    try {
      const report = runSimulation(scenario, seed, { trace: values.trace });
      if (values.trace) console.log(report.trace.join('\n'));
      console.log(
        `${scenario.name} seed ${seed}: ok (${report.events} events, ${report.acknowledged} acknowledged, ${report.unknown} unknown, max term ${report.maxTerm})`,
      );
    } catch (error) {
      if (!(error instanceof SimulationFailure)) throw error;
      console.log(error.trace.join('\n'));
      console.error(error.message);
      process.exitCode = 1;
    }
  }
} else {
  const count = Number(values.seeds);
  const from = Number(values.from);
  let failed = 0;
  for (const scenario of scenarios) {
    const started = performance.now();
    let acknowledged = 0;
    for (let seed = from; seed < from + count; seed++) {
      try {
        acknowledged += runSimulation(scenario, seed).acknowledged;
      } catch (error) {
        if (!(error instanceof SimulationFailure)) throw error;
        failed++;
        console.error(error.message);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${scenario.name}: ${count} seeds in ${seconds.toFixed(1)} s (${((seconds * 1000) / count).toFixed(1)} ms a seed), ${acknowledged} operations acknowledged`,
    );
  }
  console.log(`${failed === 0 ? 'all clean' : `${failed} failed`}: ${count * scenarios.length} runs`);
  if (failed > 0) process.exitCode = 1;
}
