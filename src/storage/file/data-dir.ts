import { mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GraftError } from '../../errors.ts';

/** Who a data directory belongs to; written once, checked at every start. */
export interface DataDirIdentity {
  /** The machine id of the node that owns the directory. */
  readonly machineId: string;
  /**
   * The member ids of the configuration the node first started with, sorted. Recorded, not checked:
   * membership changes at runtime, and the log says who the members are.
   */
  readonly members: readonly string[];
}

const META = 'graft.json';
const LOCK = 'LOCK';
const FORMAT = 1;

/**
 * Makes `dir` this node's data directory, or refuses with STORAGE_INVALID: a directory of another
 * machine, one with foreign files, one that cannot be read, or one in use by a live
 * process. A missing directory is created (a node's first start). Returns a release function.
 */
export async function claimDataDir(dir: string, identity: DataDirIdentity): Promise<() => Promise<void>> {
  const fail = (why: string): never => {
    throw new GraftError('STORAGE_INVALID', `data directory ${dir}: ${why}`);
  };
  await mkdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => fail(`cannot create it: ${e.code ?? e.message}`));
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => fail(`cannot read it: ${e.code ?? e.message}`));

  if (names.includes(META)) {
    let stored: { format?: unknown; machineId?: unknown };
    try {
      stored = JSON.parse(await readFile(join(dir, META), 'utf8')) as typeof stored;
    } catch (error) {
      return fail(`${META} is unreadable (${(error as Error).message}); refusing to guess whose data this is`);
    }
    if (stored.format !== FORMAT) fail(`${META} has format ${String(stored.format)}, this version reads format ${FORMAT}`);
    if (stored.machineId !== identity.machineId) fail(`it belongs to machine ${String(stored.machineId)}, not ${identity.machineId}`);
  } else if (names.some((n) => n !== LOCK)) {
    fail(`it holds files (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}) but no ${META}; refusing to use a directory that is not Graft's`);
  } else {
    // Written whole to a temporary file and renamed, so a crash never leaves half a metadata file.
    const temp = join(dir, `${META}.tmp`);
    await writeFile(temp, JSON.stringify({ format: FORMAT, machineId: identity.machineId, members: identity.members }) + '\n', { flush: true });
    await rename(temp, join(dir, META));
  }
  await takeLock(dir, fail);
  return async () => {
    await unlink(join(dir, LOCK)).catch(() => {});
  };
}

/** One process per data directory: a LOCK file with the owner's pid; a dead owner's lock is taken over. */
async function takeLock(dir: string, fail: (why: string) => never): Promise<void> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') fail(`cannot create ${LOCK}: ${(error as Error).message}`);
    }
    const owner = Number(await readFile(path, 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) fail(`it is in use by process ${owner}`);
    await unlink(path).catch(() => {});
  }
  fail(`cannot take ${LOCK}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
