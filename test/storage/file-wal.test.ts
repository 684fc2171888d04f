import { expect } from 'chai';
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/core/types.ts';
import { GraftError } from '../../src/errors.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { nodeWalFiles } from '../../src/storage/file/wal-files.ts';
import { warningLogger } from '../helpers/recording-logger.ts';

const entry = (index: number, term = 1): Entry => ({ index, term, kind: 'normal', data: `operation number ${index}` });
const identity = { machineId: '1', members: ['1', '2', '3'] };

/** Where a symbolic link points, or '' when it is gone (a descriptor closed meanwhile). */
function linkOf(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

describe('file storage: the write-ahead log', () => {
  let root: string;
  let warnings: string[];
  const open = async (dir: string, segmentBytes = 1 << 20) => {
    const storage = new FileStorage({ dir, identity, segmentBytes, logger: warningLogger((message) => warnings.push(message)) });
    return { storage, state: await storage.load() };
  };
  const segmentFiles = (dir: string) =>
    readdirSync(dir)
      .filter((n) => n.startsWith('wal-'))
      .sort();

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-wal-'));
    warnings = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('opens a segment to append with O_DSYNC, where the platform has it: writes go to the end of what is there, each durable when done', async () => {
    const file = join(root, 'segment');
    writeFileSync(file, 'abc');
    const handle = await nodeWalFiles.open(file, 'a');
    expect(handle.writesAreDurable).to.equal(process.platform !== 'win32');
    await handle.write(Buffer.from('-def-'), 1, 3);
    await handle.close();
    expect(readFileSync(file, 'utf8')).to.equal('abcdef');
    if (process.platform === 'linux') {
      // The flag as the kernel holds it: O_DSYNC (010000 octal) and O_APPEND (02000) in /proc's fdinfo of an open file.
      const opened = await nodeWalFiles.open(file, 'a');
      const flags = readdirSync('/proc/self/fd')
        .filter((fd) => linkOf(`/proc/self/fd/${fd}`) === file)
        .map((fd) => parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8));
      await opened.close();
      expect(
        flags.some((f) => (f & 0o10000) !== 0 && (f & 0o2000) !== 0),
        'a descriptor with O_DSYNC and O_APPEND',
      ).to.equal(true);
    }
  });

  it('rolls over to new segments of bounded size and reads them all back in order', async () => {
    const dir = join(root, 'n1');
    const { storage } = await open(dir, 400);
    for (let i = 1; i <= 60; i++) await storage.append([entry(i)]);
    await storage.saveHardState({ term: 1, vote: '1', commit: 60 });
    await storage.close();
    const files = segmentFiles(dir);
    expect(files.length).to.be.greaterThan(5);
    for (const f of files.slice(0, -1)) expect(statSync(join(dir, f)).size).to.be.below(400 + 200);
    const { storage: again, state } = await open(dir, 400);
    expect(state.entries.map((e) => e.index)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(state.hardState).to.deep.equal({ term: 1, vote: '1', commit: 60 });
    await again.close();
  });

  it('writes everything appended while an fsync runs in one later fsync (group commit)', async () => {
    const { storage } = await open(join(root, 'n1'));
    await Promise.all(Array.from({ length: 64 }, (_, i) => storage.append([entry(i + 1)])));
    expect(storage.stats()).to.deep.equal({ syncs: 1, records: 64 });
    await storage.append([entry(65)]);
    expect(storage.stats()).to.deep.equal({ syncs: 2, records: 65 });
    await storage.close();
  });

  it('a commit-only hard state costs no fsync of its own: it rides with the next durable write, or is written at close', async () => {
    const dir = join(root, 'n1');
    const { storage } = await open(dir);
    await storage.saveHardState({ term: 1, vote: '1', commit: 0 });
    await storage.saveHardState({ term: 1, vote: '1', commit: 5 }, { durable: false });
    expect(storage.stats()).to.deep.equal({ syncs: 1, records: 1 });
    await storage.append([entry(1)]);
    expect(storage.stats()).to.deep.equal({ syncs: 2, records: 3 });
    await storage.saveHardState({ term: 1, vote: '1', commit: 9 }, { durable: false });
    await storage.close();
    const { storage: again, state } = await open(dir);
    expect(state.hardState).to.deep.equal({ term: 1, vote: '1', commit: 9 });
    await again.close();
  });

  it('a torn last record, cut at any byte, recovers to the record before it, with a warning', async () => {
    const dir = join(root, 'n1');
    const { storage } = await open(dir);
    for (let i = 1; i <= 4; i++) await storage.append([entry(i)]);
    await storage.close();
    const [file] = segmentFiles(dir);
    const full = statSync(join(dir, file!)).size;
    // Find where the last record starts: the size of the log holding only three entries.
    const three = join(root, 'three');
    const { storage: s3 } = await open(three);
    for (let i = 1; i <= 3; i++) await s3.append([entry(i)]);
    await s3.close();
    const lastStart = statSync(join(three, segmentFiles(three)[0]!)).size;
    expect(lastStart).to.be.below(full);

    for (let cut = lastStart + 1; cut < full; cut++) {
      const copy = join(root, `cut-${cut}`);
      cpSync(dir, copy, { recursive: true });
      rmSync(join(copy, 'LOCK'), { force: true });
      truncateSync(join(copy, file!), cut);
      warnings = [];
      const { storage: s, state } = await open(copy);
      expect(
        state.entries.map((e) => e.index),
        `cut at ${cut}`,
      ).to.deep.equal([1, 2, 3]);
      expect(warnings.join('\n')).to.match(new RegExp(`cutting a torn record off the end of the log: ${cut - lastStart} bytes at offset ${lastStart}`));
      // The torn bytes are gone, so the next append follows the last good record.
      await s.append([entry(4, 2)]);
      await s.close();
      const { storage: s2, state: after } = await open(copy);
      expect(after.entries.map((e) => [e.index, e.term])).to.deep.equal([
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 2],
      ]);
      await s2.close();
      rmSync(copy, { recursive: true });
    }
  });

  it('a zero-filled tail (a file extended but never written) is cut like a torn write', async () => {
    const dir = join(root, 'n1');
    const { storage } = await open(dir);
    await storage.append([entry(1), entry(2)]);
    await storage.close();
    appendFileSync(join(dir, segmentFiles(dir)[0]!), Buffer.alloc(4096));
    const { storage: s, state } = await open(dir);
    expect(state.entries).to.have.length(2);
    expect(warnings.join()).to.match(/zero bytes where a record should start/);
    await s.close();
  });

  it('refuses to write a number it cannot hold back (over 2^48 - 1), naming it, and takes no more writes', async () => {
    const { storage } = await open(join(root, 'n1'));
    const error = await storage.saveHardState({ term: 2 ** 48, vote: '1', commit: 0 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(GraftError);
    expect((error as GraftError).code).to.equal('STORAGE_FAILED');
    expect((error as Error).message).to.equal('cannot write term 281474976710656 to the log: it holds whole numbers up to 281474976710655');
    expect(
      await storage.append([entry(1)]).then(
        () => 'written',
        () => 'refused',
      ),
    ).to.equal('refused');
    await storage.close();
  });

  it('a flipped bit in an earlier record is corruption: the node refuses to start, naming file and offset, and changes nothing', async () => {
    const dir = join(root, 'n1');
    const { storage } = await open(dir);
    for (let i = 1; i <= 5; i++) await storage.append([entry(i)]);
    await storage.close();
    const file = join(dir, segmentFiles(dir)[0]!);
    const original = readFileSync(file);
    const recordSize = original.length / 5;
    // Header checksum, length field, payload: in the first and in the third record.
    for (const position of [1, 5, 20, 2 * recordSize + 6, 2 * recordSize + 30]) {
      const damaged = Buffer.from(original);
      damaged[position]! ^= 0x10;
      writeFileSync(file, damaged);
      const error = await new FileStorage({ dir, identity }).load().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, `bit flipped at byte ${position}`).to.be.instanceOf(GraftError);
      expect((error as GraftError).code).to.equal('STORAGE_CORRUPT');
      const recordStart = Math.floor(position / recordSize) * recordSize;
      expect((error as GraftError).message).to.contain(`${file}: offset ${recordStart}: `);
      expect(readFileSync(file).equals(damaged), 'the file was left as it was').to.equal(true);
    }
  });

  describe('the data directory', () => {
    it('refuses a directory of another machine or with foreign files; members that changed since are no reason', async () => {
      const dir = join(root, 'n1');
      const { storage } = await open(dir);
      await storage.close();
      const refusal = (id: typeof identity, d = dir) =>
        new FileStorage({ dir: d, identity: id }).load().then(
          () => '',
          (e: GraftError) => `${e.code}: ${e.message}`,
        );
      expect(await refusal({ machineId: '2', members: ['1', '2', '3'] })).to.equal(`STORAGE_INVALID: data directory ${dir}: it belongs to machine 1, not 2`);
      // The log holds the configuration now: a file that lists other members does not make the data another's.
      expect(await refusal({ machineId: '1', members: ['1', '4'] })).to.equal('');
      const foreign = join(root, 'foreign');
      cpSync(dir, foreign, { recursive: true });
      rmSync(join(foreign, 'graft.json'));
      expect(await refusal(identity, foreign)).to.match(/holds files \(.*\) but no graft\.json; refusing to use a directory that is not Graft's/);
    });

    it("is used by one process at a time; a dead owner's lock is taken over", async () => {
      const dir = join(root, 'n1');
      const { storage } = await open(dir);
      await storage.close();
      writeFileSync(join(dir, 'LOCK'), String(process.ppid));
      const busy = await new FileStorage({ dir, identity }).load().then(
        () => null,
        (e: GraftError) => e.message,
      );
      expect(busy).to.equal(`data directory ${dir}: it is in use by process ${process.ppid}`);
      writeFileSync(join(dir, 'LOCK'), '2147483646');
      const { storage: s } = await open(dir);
      expect(readFileSync(join(dir, 'LOCK'), 'utf8')).to.equal(String(process.pid));
      await s.close();
    });
  });
});
