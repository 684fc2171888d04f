import { votersOnly } from '../../src/core/membership.ts';
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SnapshotMeta } from '../../src/core/types.ts';
import { GraftError } from '../../src/errors.ts';
import { SnapshotFiles } from '../../src/storage/file/snapshot-files.ts';
import { mountTmpfs, tmpfsUnavailable, unmount } from '../helpers/tmpfs.ts';
import { warningLogger } from '../helpers/recording-logger.ts';

const meta = (index: number, term = 1): SnapshotMeta => ({ index, term, configuration: votersOnly(['1', '2', '3']) });

/** A deterministic state of `chunks` chunks of `size` bytes each; chunk i is filled from seed + i. */
async function* state(chunks: number, size: number, seed = 0): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < chunks; i++) {
    const chunk = new Uint8Array(size);
    for (let j = 0; j < size; j += 997) chunk[j] = (seed + i + j) & 0xff;
    chunk[size - 1] = (seed * 31 + i) & 0xff;
    yield chunk;
  }
}

async function collect(data: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of data) parts.push(chunk);
  return Buffer.concat(parts);
}

async function rejection(promise: Promise<unknown>): Promise<GraftError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(GraftError);
    return error as GraftError;
  }
  throw new Error('expected a rejection');
}

describe('snapshot files (Raft §7, thesis §5.1)', () => {
  let dir: string;
  let warnings: string[];
  const store = (keep?: number) =>
    new SnapshotFiles({ dir, ...(keep === undefined ? {} : { keep }), logger: warningLogger((message) => warnings.push(message)) });
  const snapFiles = () =>
    readdirSync(dir)
      .filter((n) => n.endsWith('.snap'))
      .sort();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-snap-'));
    warnings = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('no snapshot at all is null', async () => {
    expect(await store().newest()).to.equal(null);
  });

  it('round-trips a multi-chunk state of a few MB with its metadata, streaming only the state back', async () => {
    const snaps = store();
    await snaps.save({ index: 1234, term: 7, configuration: votersOnly(['a', 'b', 'c']) }, state(300, 10_000, 5));
    const expected = await collect(state(300, 10_000, 5));
    const found = await store().newest();
    expect(found).to.not.equal(null);
    expect(found!.meta).to.deep.equal({ index: 1234, term: 7, configuration: votersOnly(['a', 'b', 'c']) });
    expect(found!.file).to.equal(join(dir, snapFiles()[0]!));
    const read = await collect(found!.read());
    expect(read.length).to.equal(3_000_000);
    expect(read.equals(expected)).to.equal(true);
    // read() can be iterated again
    expect((await collect(found!.read())).equals(expected)).to.equal(true);
  });

  it('round-trips an empty state', async () => {
    await store().save(meta(3), state(0, 1));
    const found = await store().newest();
    expect(found!.meta).to.deep.equal(meta(3));
    expect((await collect(found!.read())).length).to.equal(0);
  });

  it('keeps only the `keep` newest snapshots, by index', async () => {
    const snaps = store(2);
    for (const index of [10, 20, 30, 40]) await snaps.save(meta(index), state(3, 100, index));
    expect(snapFiles()).to.have.length(2);
    expect(snapFiles()[0]).to.match(/^snap-0+30-1\.snap$/);
    expect(snapFiles()[1]).to.match(/^snap-0+40-1\.snap$/);
    expect((await snaps.newest())!.meta.index).to.equal(40);
    const one = store(1);
    await one.save(meta(50), state(1, 10));
    expect(snapFiles()).to.have.length(1);
  });

  it('passes over a newest snapshot with a flipped byte, with a warning naming the file, for the older one', async () => {
    const snaps = store();
    await snaps.save(meta(10), state(50, 1000, 1));
    await snaps.save(meta(20), state(50, 1000, 2));
    const newest = join(dir, snapFiles()[1]!);
    const bytes = readFileSync(newest);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(newest, bytes);
    const found = await store().newest();
    expect(found!.meta.index).to.equal(10);
    expect((await collect(found!.read())).equals(await collect(state(50, 1000, 1)))).to.equal(true);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include(newest).and.include('checksum mismatch');
  });

  it('passes over a truncated newest snapshot, with a warning naming the file, for the older one', async () => {
    const snaps = store();
    await snaps.save(meta(10), state(50, 1000, 1));
    await snaps.save(meta(20), state(50, 1000, 2));
    const newest = join(dir, snapFiles()[1]!);
    truncateSync(newest, statSync(newest).size - 100);
    const found = await store().newest();
    expect(found!.meta.index).to.equal(10);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.include(newest).and.include('truncated');
  });

  it('refuses with STORAGE_CORRUPT, naming every file, when snapshots exist but none is valid', async () => {
    const snaps = store();
    await snaps.save(meta(10), state(5, 1000, 1));
    await snaps.save(meta(20), state(5, 1000, 2));
    const [older, newer] = snapFiles().map((n) => join(dir, n));
    truncateSync(newer!, 30);
    const bytes = readFileSync(older!);
    bytes[20]! ^= 0xff;
    writeFileSync(older!, bytes);
    const error = await rejection(store().newest());
    expect(error.code).to.equal('STORAGE_CORRUPT');
    expect(error.message).to.include(newer!).and.include(older!).and.include('refusing to start');
    expect(warnings).to.have.length(2);
  });

  it('ignores a temporary file left by a crash mid-save, and the next save removes it', async () => {
    const snaps = store();
    await snaps.save(meta(10), state(5, 1000, 1));
    const temp = join(dir, `snap-${'30'.padStart(16, '0')}-2.snap.4242-1.tmp`);
    writeFileSync(temp, Buffer.alloc(5000, 7));
    const found = await store().newest();
    expect(found!.meta.index).to.equal(10);
    expect(warnings).to.deep.equal([]);
    await snaps.save(meta(20), state(5, 1000, 2));
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('a save whose state throws midway rejects with STORAGE_FAILED and leaves the previous newest intact and no new file', async () => {
    const snaps = store();
    await snaps.save(meta(10), state(20, 1000, 1));
    const before = snapFiles();
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* state(10, 1000, 2);
      throw new Error('the state machine broke');
    }
    const error = await rejection(snaps.save(meta(20), failing()));
    expect(error.code).to.equal('STORAGE_FAILED');
    expect(error.message)
      .to.include(join(dir, `snap-${'20'.padStart(16, '0')}-1.snap`))
      .and.include('the state machine broke');
    expect(readdirSync(dir)).to.deep.equal(before);
    const found = await store().newest();
    expect(found!.meta.index).to.equal(10);
    expect((await collect(found!.read())).equals(await collect(state(20, 1000, 1)))).to.equal(true);
    // the store still works afterwards
    await snaps.save(meta(30), state(2, 10));
    expect((await snaps.newest())!.meta.index).to.equal(30);
  });

  it('on a disk that fills up mid-save, rejects with STORAGE_FAILED, leaves no file behind, and the previous newest still reads', async function () {
    const why = tmpfsUnavailable();
    if (why !== null) {
      console.log(`      SKIPPED: this test fills a small tmpfs, and none can be mounted here: ${why}`);
      this.skip();
    }
    mountTmpfs(dir, '1m');
    try {
      const snaps = store();
      await snaps.save(meta(10), state(20, 10_000, 1));
      const error = await rejection(snaps.save(meta(20), state(300, 10_000, 2))); // 3 MB onto what is left of 1 MiB
      expect(error.code).to.equal('STORAGE_FAILED');
      expect(error.message)
        .to.include(join(dir, `snap-${'20'.padStart(16, '0')}-1.snap`))
        .and.match(/ENOSPC|no progress/);
      expect(readdirSync(dir)).to.deep.equal([`snap-${'10'.padStart(16, '0')}-1.snap`]);
      const found = await store().newest();
      expect(found!.meta.index).to.equal(10);
      expect((await collect(found!.read())).equals(await collect(state(20, 10_000, 1)))).to.equal(true);
    } finally {
      unmount(dir);
    }
  });

  it('a save into a missing directory rejects with STORAGE_FAILED naming the file', async () => {
    const missing = join(dir, 'nope');
    const error = await rejection(new SnapshotFiles({ dir: missing }).save(meta(1), state(1, 10)));
    expect(error.code).to.equal('STORAGE_FAILED');
    expect(error.message).to.include(join(missing, 'snap-'));
  });

  it('saving a ~50 MB state produced chunk by chunk never holds it in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const used = () => {
      gc();
      const m = process.memoryUsage();
      return { heap: m.heapUsed, buffers: m.arrayBuffers };
    };
    const before = used();
    let peak = { heap: 0, buffers: 0 };
    const chunks = 800;
    const size = 64 * 1024; // 800 x 64 KiB = 50 MiB
    async function* big(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < chunks; i++) {
        // Measured while the save is under way with most of the state already handed over.
        if (i === chunks - 1) peak = used();
        yield new Uint8Array(size).fill(i & 0xff);
      }
    }
    await store().save(meta(100), big());
    const growth = { heap: peak.heap - before.heap, buffers: peak.buffers - before.buffers };
    expect(growth.heap, `heap growth ${growth.heap} bytes`).to.be.below(20 * 1024 * 1024);
    expect(growth.buffers, `ArrayBuffer growth ${growth.buffers} bytes`).to.be.below(20 * 1024 * 1024);
    expect(statSync(join(dir, snapFiles()[0]!)).size).to.be.above(chunks * size);
    const found = await store().newest();
    expect(found!.meta.index).to.equal(100);
  });
});
