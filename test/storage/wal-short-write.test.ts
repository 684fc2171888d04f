import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/core/types.ts';
import { seededRng } from '../../src/core/rng.ts';
import { GraftError } from '../../src/errors.ts';
import { MemorySnapshotStore } from '../../src/storage/snapshot-store.ts';
import { FileStorage, type FileStorageOptions } from '../../src/storage/file/file-storage.ts';
import { encodeRecord } from '../../src/storage/file/record.ts';
import type { WalSabotage } from '../../src/storage/file/wal.ts';
import { nodeWalFiles, type WalFiles } from '../../src/storage/file/wal-files.ts';
import { ManualClock } from '../simulation/manual-clock.ts';
import { SimFiles } from '../simulation/sim-files.ts';
import { warningLogger } from '../helpers/recording-logger.ts';

const entry = (index: number, data = `operation number ${index}`): Entry => ({ index, term: 1, kind: 'normal', data });
const identity = { machineId: '1', members: ['1', '2', '3'] };
const SEGMENT = 'wal-0000000001.log';

/** What the next writes do, in order: write half of what was asked, write nothing, or throw. */
type WriteFault = 'short' | 'zero' | 'ENOSPC' | 'EIO';

const errno = (code: string, syscall: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${code === 'EIO' ? 'i/o error' : 'no space left on device'}, ${syscall}`), { code, syscall });

/** The real file system, with handles that misbehave on cue. */
function faultyFiles(): { files: WalFiles; plan: { writes: WriteFault[]; datasyncs: string[]; writeCalls: number } } {
  const plan = { writes: [] as WriteFault[], datasyncs: [] as string[], writeCalls: 0 };
  const files: WalFiles = {
    ...nodeWalFiles,
    open: async (file, flags) => {
      const handle = await nodeWalFiles.open(file, flags);
      return {
        ...handle,
        // Syncs apart from writes, so that each can fail on its own (the real files' writes are durable themselves).
        writesAreDurable: false,
        write: async (buffer, offset, length) => {
          plan.writeCalls++;
          const fault = plan.writes.shift();
          if (fault === 'short') return handle.write(buffer, offset, Math.floor(length / 2));
          if (fault === 'zero') return { bytesWritten: 0 };
          if (fault !== undefined) throw errno(fault, 'write');
          return handle.write(buffer, offset, length);
        },
        datasync: async () => {
          const code = plan.datasyncs.shift();
          if (code !== undefined) throw errno(code, 'fdatasync');
          return handle.datasync();
        },
      };
    },
  };
  return { files, plan };
}

describe('file storage: every write is written whole or fails', () => {
  let root: string;
  let dir: string;
  let warnings: string[];
  const storage = (options: Partial<FileStorageOptions> = {}, sabotage?: WalSabotage) =>
    new FileStorage(
      {
        dir,
        identity,
        logger: warningLogger((message) => warnings.push(message)),
        // The in-memory disk holds the log; snapshots, unused here, stay in memory too.
        ...(options.files !== undefined && { snapshots: new MemorySnapshotStore() }),
        ...options,
      },
      sabotage === undefined ? {} : { sabotage },
    );
  /** Opens the directory again on the real, healthy file system. */
  const reopen = async () => {
    const s = storage();
    const state = await s.load();
    await s.close();
    return state.entries.map((e) => e.index);
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e as GraftError,
    );
  const big = entry(4, 'x'.repeat(1000));

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'graft-short-'));
    dir = join(root, 'n1');
    warnings = [];
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('a short write is followed by the rest: the append resolves and every entry is recovered', async () => {
    const { files, plan } = faultyFiles();
    const s = storage({ files });
    await s.load();
    plan.writes.push('short');
    await s.append([entry(1), entry(2), entry(3)]);
    expect(plan.writeCalls).to.equal(2);
    await s.close();
    expect(await reopen()).to.deep.equal([1, 2, 3]);
    expect(warnings).to.deep.equal([]);
  });

  it('a short write then ENOSPC: the append and every later one reject naming the file and bytes; on reopen the partial record is cut', async () => {
    const { files, plan } = faultyFiles();
    const s = storage({ files });
    await s.load();
    await s.append([entry(1), entry(2), entry(3)]);
    const offset = statSync(join(dir, SEGMENT)).size;
    const total = encodeRecord({ type: 'entries', entries: [big] }).length;
    const half = Math.floor(total / 2);
    plan.writes.push('short', 'ENOSPC');
    const error = await failure(s.append([big]));
    expect(error).to.be.instanceOf(GraftError);
    expect(error?.code).to.equal('STORAGE_FAILED');
    expect(error?.message).to.equal(
      `write to the log failed: ${join(dir, SEGMENT)}: ${half} of ${total} bytes written: ENOSPC: no space left on device, write; nothing from this batch is acknowledged, and the log takes no more writes`,
    );
    expect((error?.cause as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    expect(await failure(s.append([entry(4)]))).to.equal(error);
    expect(await failure(s.saveHardState({ term: 1, vote: '1', commit: 3 }))).to.equal(error);
    await s.close();

    expect(await reopen()).to.deep.equal([1, 2, 3]);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain(
      `cutting a torn record off the end of the log: ${half} bytes at offset ${offset} of ${join(dir, SEGMENT)}, the last segment, are an incomplete record (`,
    );
    expect(warnings[0]).to.match(/left by an interrupted or failed write$/);
  });

  it('a write that makes no progress rejects (the disk is probably full), and so does every later append', async () => {
    const { files, plan } = faultyFiles();
    const s = storage({ files });
    await s.load();
    plan.writes.push('zero');
    const error = await failure(s.append([entry(1)]));
    expect(error?.code).to.equal('STORAGE_FAILED');
    expect(error?.message).to.match(/: 0 of \d+ bytes written: a write made no progress \(the disk is probably full\);/);
    expect(await failure(s.append([entry(1)]))).to.equal(error);
    await s.close();
  });

  it('EIO from datasync rejects every append of the batch, and none is counted as synced', async () => {
    const { files, plan } = faultyFiles();
    const s = storage({ files });
    await s.load();
    plan.datasyncs.push('EIO');
    const [a, b] = await Promise.all([failure(s.append([entry(1)])), failure(s.saveHardState({ term: 1, vote: '1', commit: 0 }))]);
    expect(a?.code).to.equal('STORAGE_FAILED');
    expect(b).to.equal(a);
    expect(a?.message).to.match(new RegExp(`${SEGMENT}: (\\d+) of \\1 bytes written but not synced: EIO: i/o error, fdatasync;`));
    expect(s.stats()).to.deep.equal({ syncs: 0, records: 0 });
    expect(await failure(s.append([entry(1)]))).to.equal(a);
    await s.close();
  });

  it('with the ignore-short-write sabotage the same short write is acknowledged, and its entry is missing after reopen', async () => {
    const { files, plan } = faultyFiles();
    const s = storage({ files }, 'ignore-short-write');
    await s.load();
    await s.append([entry(1), entry(2), entry(3)]);
    plan.writes.push('short', 'ENOSPC');
    await s.append([big]);
    expect((await failure(s.append([entry(5)])))?.code).to.equal('STORAGE_FAILED');
    await s.close();
    expect(await reopen(), 'entry 4 was acknowledged').to.deep.equal([1, 2, 3]);
  });

  it("on the simulation's in-memory disk, filling it up loses no acknowledged entry across a crash; the sabotage does", async () => {
    const lost: Record<string, number[]> = {};
    for (const sabotage of [undefined, 'ignore-short-write'] as const) {
      const clock = new ManualClock();
      const run = async <T>(p: Promise<T>): Promise<T> => {
        p.catch(() => {}); // The caller sees the rejection, once the simulation has run.
        while (await clock.step(Infinity));
        return p;
      };
      const files = new SimFiles({ after: (ms, fn) => clock.after(ms, fn), latency: () => 1, alive: () => true, rng: seededRng(7), capacity: 1000 });
      const options = { files, claimDir: async () => async () => {} };
      const s = storage(options, sabotage);
      await run(s.load());
      const acknowledged: number[] = [];
      for (let i = 1; ; i++) {
        const error = await run(s.append([entry(i)])).then(
          () => null,
          (e: GraftError) => e,
        );
        if (error !== null) {
          expect(error.message).to.contain('ENOSPC: no space left on device, write');
          break;
        }
        acknowledged.push(i);
      }
      files.crash();
      files.grow(1000);
      const again = storage(options, sabotage);
      const recovered = new Set((await run(again.load())).entries.map((e) => e.index));
      await run(again.close());
      lost[sabotage ?? 'none'] = acknowledged.filter((i) => !recovered.has(i));
    }
    expect(lost['none']).to.deep.equal([]);
    expect(lost['ignore-short-write']).to.have.length(1);
  });
});
