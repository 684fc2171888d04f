import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readBench } from './reads.ts';
import { restartBench } from './restart.ts';
import { storageBench } from './storage.ts';

// `npm run bench [-- --seconds N --dir DIR --restart-writes N]`: figures are ratios within one run, since the machine is shared.
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    dir: { type: 'string', default: '.tmp/bench' },
    'restart-writes': { type: 'string', default: '2000000' },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);
const restartWrites = Number(values['restart-writes']);
if (!Number.isSafeInteger(restartWrites) || restartWrites < 1000)
  throw new Error(`--restart-writes must be a whole number of at least 1000, got ${values['restart-writes']}`);
await storageBench(resolve(values.dir, 'storage'), seconds);
await readBench(resolve(values.dir, 'reads'), seconds);
await restartBench(resolve(values.dir, 'restart'), restartWrites);
