import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('core: purity', () => {
  it('imports nothing but other core modules: no Node APIs, no other layer, no packages', () => {
    const dir = new URL('../../../src/core/', import.meta.url).pathname;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      for (const [, spec] of source.matchAll(/from\s+'([^']+)'/g)) {
        expect(spec, `${file} imports ${spec}`).to.match(/^\.\/[\w-]+\.ts$/);
      }
      expect(source, `${file} reads the clock or draws randomness`).to.not.match(/Date\.now|Math\.random|new Date\(|setTimeout|setInterval|performance\.now/);
    }
  });
});
