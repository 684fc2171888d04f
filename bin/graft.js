#!/usr/bin/env node
// The `graft` command: runs the compiled CLI in dist/ with plain Node (no TypeScript at run time).
// In the repository, `npm ci` and `npm run build` write dist/; `npm run graft -- ...` runs the source.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('graft: dist/ has not been built; in the repository, run `npm run build` (or `npm run graft -- ...`, which needs no build)');
  process.exit(1);
}
await import(main.href);
