import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseClusterArgs } from './cluster/args.ts';
import { printProfiles } from './cluster/profile.ts';
import { clusterBench } from './cluster/run.ts';
import { readBench } from './reads.ts';
import { restartBench } from './restart.ts';
import { storageBench } from './storage.ts';

// `npm run bench [-- --seconds N --dir DIR --restart-writes N]`: storage, reads and restart.
// `npm run bench -- cluster [--nodes 3,5 --seconds N --json ...]`: the cluster bench alone (bench/cluster/args.ts).
// `npm run bench -- profile FILE...`: a CPU profile (`cluster --profile DIR`) summarised by area (bench/cluster/profile.ts).
// Figures are ratios within one run, since the machine is shared.
const args = process.argv.slice(2);
if (args[0] === 'cluster') {
  await clusterBench(parseClusterArgs(args.slice(1)));
} else if (args[0] === 'profile') {
  printProfiles(args.slice(1));
} else {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '2' },
      dir: { type: 'string', default: '.tmp/bench' },
      'restart-writes': { type: 'string', default: '2000000' },
    },
  });
  if (positionals.length > 0) throw new Error(`no bench named ${positionals[0]}: give none (storage, reads, restart), "cluster" or "profile"`);
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);
  const restartWrites = Number(values['restart-writes']);
  if (!Number.isSafeInteger(restartWrites) || restartWrites < 1000)
    throw new Error(`--restart-writes must be a whole number of at least 1000, got ${values['restart-writes']}`);
  await storageBench(resolve(values.dir, 'storage'), seconds);
  await readBench(resolve(values.dir, 'reads'), seconds);
  await restartBench(resolve(values.dir, 'restart'), restartWrites);
}
