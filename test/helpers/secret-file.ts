import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A file holding a cluster secret in a directory of its own, for cluster.yaml's `secretFile`; `remove` deletes both. */
export function tempSecretFile(secret = 'only-the-members-hold-this-secret'): { readonly path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'graft-secret-'));
  const path = join(dir, 'cluster.secret');
  writeFileSync(path, `${secret}\n`);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
