import { expect } from 'chai';
import { GraftError } from '../../src/errors.ts';
import { readSnapshotBytes, snapshotBytes } from '../../src/runtime/state-snapshot.ts';
import { recordsToSnapshot, snapshotToRecords } from '../../src/snapshot-records.ts';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function bytesOf(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  return Buffer.concat(await collect(source));
}

/** `bytes` again, in pieces of `size`: boundaries fall anywhere, inside lines and multi-byte characters. */
async function* rechunk(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, Math.min(bytes.length, at + size));
}

/** `bytes` in pieces whose sizes go round `sizes`. */
async function* unevenly(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('it did not throw');
}

const RECORDS: unknown[] = [
  ['plain', 1],
  [
    'map',
    new Map<unknown, unknown>([
      ['a', 1],
      [2, new Set(['x', 'y'])],
    ]),
  ],
  ['date', new Date('2024-02-29T12:34:56.789Z')],
  ['bigint', 12345678901234567890123456789n],
  ['undefined', { present: 1, absent: undefined }],
  undefined,
  'line one\nline two\r\nline three\n',
  'multi-byte: é ß € 中文 😀 𝄞 and a lone newline\n',
  { nested: { emoji: '🦀🦀', list: [1, 'ü', null, undefined], when: new Date(0) } },
  '',
  -0,
  Number.NaN,
];

describe('snapshot records: recordsToSnapshot / snapshotToRecords', () => {
  it('round-trips Map, Set, Date, BigInt, undefined, newlines and multi-byte text', async () => {
    const records = await collect(snapshotToRecords(recordsToSnapshot(RECORDS)));
    expect(records).to.deep.equal(RECORDS);
    const map = (records[1] as [string, Map<unknown, unknown>])[1];
    expect(map).to.be.instanceOf(Map);
    expect(map.get(2)).to.be.instanceOf(Set);
    expect((records[2] as [string, Date])[1]).to.be.instanceOf(Date);
    expect(typeof (records[3] as [string, bigint])[1]).to.equal('bigint');
    expect(Object.keys((records[4] as [string, object])[1])).to.deep.equal(['present', 'absent']);
  });

  for (const size of [1, 2, 3, 7, 64, 1000]) {
    it(`round-trips the same records re-chunked into ${size}-byte pieces`, async () => {
      const bytes = await bytesOf(recordsToSnapshot(RECORDS));
      expect(await collect(snapshotToRecords(rechunk(bytes, size)))).to.deep.equal(RECORDS);
    });
  }

  it('round-trips when every boundary falls inside a multi-byte character', async () => {
    const records = ['😀😀😀😀😀😀', '€€€€€€€€', '中文中文中文'];
    const bytes = await bytesOf(recordsToSnapshot(records));
    // Cut right after the first byte of every multi-byte character (a lead byte is 0b11xxxxxx).
    const cuts: number[] = [];
    let from = 0;
    bytes.forEach((byte, i) => {
      if (byte >= 0xc0) {
        cuts.push(i + 1 - from);
        from = i + 1;
      }
    });
    cuts.push(bytes.length - from);
    expect(cuts).to.have.length(21);
    const pieces = await collect(unevenly(bytes, cuts));
    expect(Buffer.concat(pieces).equals(bytes)).to.equal(true);
    expect(pieces.filter((p) => p[0]! >= 0x80 && p[0]! < 0xc0)).to.have.length(20, 'pieces beginning inside a character');
    expect(await collect(snapshotToRecords(unevenly(bytes, cuts)))).to.deep.equal(records);
  });

  it('gathers many records into chunks of about 64 KiB, made only as the reader asks', async () => {
    let pulled = 0;
    function* many(): Generator<string> {
      for (let i = 0; i < 10_000; i++) {
        pulled++;
        yield `record ${i} ${'x'.repeat(100)}`;
      }
    }
    const chunks = recordsToSnapshot(many());
    const first = await chunks.next();
    expect(first.done).to.equal(false);
    expect(first.value!.length).to.be.within(64 * 1024, 64 * 1024 + 200);
    expect(pulled).to.be.below(10_000);
    const rest = await collect(chunks);
    expect(pulled).to.equal(10_000);
    expect(rest.length).to.be.greaterThan(5);
    // Each chunk holds whole lines.
    for (const chunk of [first.value!, ...rest]) expect(chunk[chunk.length - 1]).to.equal(0x0a);
    const again = await collect(snapshotToRecords(rechunk(Buffer.concat([first.value!, ...rest]), 7)));
    expect(again).to.deep.equal([...many()]);
  });

  it('an empty iterable makes no bytes, and no bytes make no records', async () => {
    expect(await collect(recordsToSnapshot([]))).to.deep.equal([]);
    expect(await collect(snapshotToRecords(recordsToSnapshot([])))).to.deep.equal([]);
    expect(await collect(snapshotToRecords(rechunk(new Uint8Array(0), 1)))).to.deep.equal([]);
  });

  it('reads a last record that has no newline after it', async () => {
    const bytes = Buffer.from('{"json":1}\n{"json":"two"}', 'utf8');
    expect(await collect(snapshotToRecords(rechunk(bytes, 3)))).to.deep.equal([1, 'two']);
  });

  it('a garbled line is an error naming the record number', async () => {
    const good = await bytesOf(recordsToSnapshot(['one', 'two']));
    const bytes = Buffer.concat([good, Buffer.from('{"json": nope\n{"json":4}\n')]);
    const seen: unknown[] = [];
    const error = await rejection(
      (async () => {
        for await (const record of snapshotToRecords(rechunk(bytes, 5))) seen.push(record);
      })(),
    );
    expect(error.message).to.match(/^snapshot record 3 is not valid: /);
    expect(error.cause).to.be.instanceOf(SyntaxError);
    expect(seen).to.deep.equal(['one', 'two']);
  });

  it('a garbled last line, without a newline, is named too', async () => {
    const error = await rejection(collect(snapshotToRecords(rechunk(Buffer.from('{"json":1}\n{"json":1}\n{"js'), 4))));
    expect(error.message).to.match(/^snapshot record 3 is not valid/);
  });
});

describe('state snapshot bytes: snapshotBytes / readSnapshotBytes', () => {
  const graftState = JSON.stringify({ sessions: { 'client-é': 3 }, terms: '😀 multi-byte in the header' });
  const app = [Buffer.from('application '), Buffer.from('state 中文'), Buffer.alloc(0), Buffer.from([0, 1, 2, 255])];

  async function roundTrip(size: number): Promise<void> {
    const bytes = await bytesOf(snapshotBytes(graftState, app));
    expect(bytes.subarray(0, 4).toString('latin1')).to.equal('GRS2');
    expect(bytes.readUInt32LE(4)).to.equal(Buffer.byteLength(graftState));
    const read = await readSnapshotBytes(rechunk(bytes, size));
    expect(read.graftState).to.equal(graftState);
    expect(read.format).to.equal(2);
    expect((await bytesOf(read.app)).equals(Buffer.concat(app))).to.equal(true);
  }

  for (const size of [1, 3, 5, 7, 8, 9, 4096]) {
    it(`round-trips with the stream in ${size}-byte pieces${size < 8 ? ' (the header split across chunks)' : ''}`, () => roundTrip(size));
  }

  it('takes the application state from an async iterable, and an empty one', async () => {
    async function* hook(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('a');
      yield Buffer.from('b');
    }
    const read = await readSnapshotBytes(snapshotBytes('{}', hook()));
    expect(read.graftState).to.equal('{}');
    expect((await bytesOf(read.app)).toString()).to.equal('ab');
    const empty = await readSnapshotBytes(rechunk(await bytesOf(snapshotBytes('', [])), 2));
    expect(empty.graftState).to.equal('');
    expect(await collect(empty.app)).to.deep.equal([]);
  });

  it('refuses a hook that yields something other than bytes', async () => {
    const error = await rejection(bytesOf(snapshotBytes('{}', ['text' as unknown as Uint8Array])));
    expect(error).to.be.instanceOf(GraftError);
    expect((error as GraftError).code).to.equal('APPLY_FAILED');
    expect(error.message).to.match(/yielded a string, not a Uint8Array/);
  });

  async function corrupt(bytes: Uint8Array, size = 1): Promise<string> {
    const error = await rejection(readSnapshotBytes(rechunk(bytes, size)));
    expect(error).to.be.instanceOf(GraftError);
    expect((error as GraftError).code).to.equal('STORAGE_CORRUPT');
    return error.message;
  }

  it('a stream that ends inside the header, or inside Graft state, is STORAGE_CORRUPT', async () => {
    const bytes = await bytesOf(snapshotBytes(graftState, app));
    expect(await corrupt(new Uint8Array(0))).to.match(/ends after 0 bytes, inside Graft's own state/);
    expect(await corrupt(bytes.subarray(0, 5))).to.match(/ends after 5 bytes/);
    expect(await corrupt(bytes.subarray(0, 7), 3)).to.match(/ends after 7 bytes/);
    const cut = 8 + Buffer.byteLength(graftState) - 1;
    expect(await corrupt(bytes.subarray(0, cut), 4)).to.match(new RegExp(`ends after ${cut} bytes`));
    // Exactly the header and Graft state, no application bytes: whole.
    const whole = await readSnapshotBytes(rechunk(bytes.subarray(0, cut + 1), 4));
    expect(whole.graftState).to.equal(graftState);
    expect(await collect(whole.app)).to.deep.equal([]);
  });

  it("reads the previous release's snapshots (magic GRST) as format 1", async () => {
    const bytes = Buffer.from(await bytesOf(snapshotBytes(graftState, app)));
    bytes.write('GRST', 0, 'latin1');
    const read = await readSnapshotBytes(rechunk(bytes, 3));
    expect(read.format).to.equal(1);
    expect(read.graftState).to.equal(graftState);
    expect((await bytesOf(read.app)).equals(Buffer.concat(app))).to.equal(true);
  });

  it('a bad magic number is STORAGE_CORRUPT', async () => {
    const bytes = await bytesOf(snapshotBytes(graftState, app));
    const bad = Buffer.from(bytes);
    bad.write('GRSX', 0, 'latin1');
    expect(await corrupt(bad)).to.match(/bad magic number/);
    // Records written straight by recordsToSnapshot, without Graft's header.
    expect(await corrupt(await bytesOf(recordsToSnapshot(['a', 'b'])), 7)).to.match(/bad magic number/);
  });

  it('a claimed Graft state length beyond 1 GiB is STORAGE_CORRUPT', async () => {
    const header = Buffer.alloc(8);
    header.write('GRST', 0, 'latin1');
    header.writeUInt32LE(2 ** 30 + 1, 4);
    expect(await corrupt(header)).to.match(/claims 1073741825 bytes of Graft state/);
  });
});
