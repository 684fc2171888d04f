import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readBench } from './reads.ts';
import { storageBench } from './storage.ts';

// `npm run bench [-- --seconds N --dir DIR]`: figures are ratios within one run, since the machine is shared.
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '2' }, dir: { type: 'string', default: '.tmp/bench' } },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);
await storageBench(resolve(values.dir, 'storage'), seconds);
await readBench(resolve(values.dir, 'reads'), seconds);
