import { expect } from 'chai';
import { seededRng } from '../../src/core/rng.ts';
import { ManualClock } from './manual-clock.ts';
import { SimFiles } from './sim-files.ts';

const DIR = '/data/n1';
const A = `${DIR}/a.log`;
const B = `${DIR}/b.log`;

describe('simulation: the in-memory file system', () => {
  let clock: ManualClock;
  let alive: boolean;
  const make = (seed = 1, capacity: number | null = null) =>
    new SimFiles({ after: (ms, fn) => clock.after(ms, fn), latency: () => 1 + (clock.time % 3), alive: () => alive, rng: seededRng(seed), capacity });
  /** Runs the simulation until nothing is scheduled, then returns what `p` settled to. */
  const run = async <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => {}); // The caller sees the rejection, once the simulation has run.
    while (await clock.step(Infinity));
    return p;
  };
  const text = async (files: SimFiles, file: string) => (await run(files.read(file))).toString();
  const append = async (files: SimFiles, file: string, ...chunks: string[]) => {
    const h = await run(files.open(file, 'a'));
    for (const c of chunks) await run(h.write(Buffer.from(c), 0, c.length));
    return h;
  };

  beforeEach(() => {
    clock = new ManualClock();
    alive = true;
  });

  it('a crash keeps synced data and synced directory entries; a file created since the last directory sync vanishes, one removed comes back', async () => {
    const files = make();
    const a = await append(files, A, 'synced');
    await run(a.datasync());
    await run(files.syncDirectory(DIR));
    await append(files, B, 'never in the directory');
    await run(files.unlink(A));
    expect(await run(files.list(DIR))).to.deep.equal(['b.log']);
    files.crash();
    expect(await run(files.list(DIR))).to.deep.equal(['a.log']);
    expect(await text(files, A)).to.equal('synced');
  });

  it('a crash keeps a random prefix of unsynced appended bytes (a torn write), never more', async () => {
    const lengths = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const files = make(seed);
      const a = await append(files, A, 'durable|');
      await run(a.datasync());
      await run(files.syncDirectory(DIR));
      await run(a.write(Buffer.from('unsynced tail'), 0, 13));
      files.crash();
      const after = await text(files, A);
      expect('durable|unsynced tail'.startsWith(after), `seed ${seed}: ${after}`).to.equal(true);
      expect(after.length).to.be.at.least('durable|'.length);
      lengths.add(after.length);
    }
    expect(lengths.size, 'different seeds tear at different bytes').to.be.greaterThan(3);
  });

  it('an operation of a process that died never completes nor takes effect', async () => {
    const files = make();
    const a = await append(files, A, 'x');
    let settled = false;
    void a.write(Buffer.from('lost'), 0, 4).finally(() => (settled = true));
    alive = false;
    await run(Promise.resolve());
    alive = true;
    expect(settled).to.equal(false);
    expect(await text(files, A)).to.equal('x');
  });

  it('a full disk: a write writes what fits and reports the short count, the next throws ENOSPC; freeing space lets writes go on', async () => {
    const files = make(1, 10);
    const a = await run(files.open(A, 'a'));
    expect(await run(a.write(Buffer.from('0123456789abcdef'), 0, 16))).to.deep.equal({ bytesWritten: 10 });
    const full = await run(a.write(Buffer.from('abcdef'), 0, 6)).then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(full?.code).to.equal('ENOSPC');
    expect(full?.message).to.equal('ENOSPC: no space left on device, write');
    files.grow(6);
    expect(await run(a.write(Buffer.from('abcdef'), 0, 6))).to.deep.equal({ bytesWritten: 6 });
    expect(await text(files, A)).to.equal('0123456789abcdef');
  });

  it('fails the next write or datasync on cue, once', async () => {
    const files = make();
    const a = await run(files.open(A, 'a'));
    files.failNext('datasync', 'EIO');
    files.failNext('write', 'ENOSPC');
    const code = (p: Promise<unknown>) =>
      run(p).then(
        () => 'ok',
        (e: NodeJS.ErrnoException) => e.code,
      );
    expect(await code(a.write(Buffer.from('x'), 0, 1))).to.equal('ENOSPC');
    expect(await code(a.write(Buffer.from('x'), 0, 1))).to.equal('ok');
    expect(await code(a.datasync())).to.equal('EIO');
    expect(await code(a.datasync())).to.equal('ok');
  });

  it('wipe loses the whole directory, synced or not', async () => {
    const files = make();
    const a = await append(files, A, 'synced');
    await run(a.datasync());
    await run(files.syncDirectory(DIR));
    files.wipe();
    expect(await run(files.list(DIR))).to.deep.equal([]);
    const missing = await run(files.read(A)).then(
      () => null,
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(missing).to.equal('ENOENT');
  });
});
