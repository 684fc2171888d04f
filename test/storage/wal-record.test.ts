import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Entry } from '../../src/core/types.ts';
import { GraftError } from '../../src/errors.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { encodeRecord, HEADER_BYTES, readRecord } from '../../src/storage/file/record.ts';
import { LEGACY_OPEN_SESSION, legacyOperation } from '../helpers/legacy-log.ts';

/** A whole entry record around `payload`, checksums included, as any version writes the header. */
function entryRecord(payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(crc32(payload), 8);
  header.writeUInt8(1, 12);
  header.writeUInt32LE(crc32(header.subarray(4, 16)), 0);
  return Buffer.concat([header, payload]);
}

/** An entry payload as versions before session stamps wrote it: index u48, term u48, kind u8 (0 normal, 1 noop, 2 config), data. */
function oldEntryPayload(index: number, term: number, kindCode: number, data: string): Buffer {
  const fixed = Buffer.alloc(13);
  fixed.writeUIntLE(index, 0, 6);
  fixed.writeUIntLE(term, 6, 6);
  fixed.writeUInt8(kindCode, 12);
  return Buffer.concat([fixed, Buffer.from(data, 'utf8')]);
}

/** One entry alone, as the previous release wrote each: index, term, kind (bit 0x80: a stamp follows), [stamp], data. */
function singleEntryRecord(entry: Entry): Buffer {
  const codes = { normal: 0, noop: 1, config: 2, session: 3 };
  const fixed = oldEntryPayload(entry.index, entry.term, codes[entry.kind] | (entry.stamp === undefined ? 0 : 0x80), '');
  const stampBytes = Buffer.alloc(entry.stamp === undefined ? 0 : 18);
  if (entry.stamp !== undefined) {
    stampBytes.writeUIntLE(entry.stamp.session, 0, 6);
    stampBytes.writeUIntLE(entry.stamp.seq, 6, 6);
    stampBytes.writeUIntLE(entry.stamp.lowestOutstanding, 12, 6);
  }
  return entryRecord(Buffer.concat([fixed, stampBytes, Buffer.from(entry.data, 'utf8')]));
}

function decoded(buf: Buffer): unknown {
  const result = readRecord(buf, 0);
  return result.status === 'ok' ? result.record : result;
}

const stamp = { session: 3, seq: 2 ** 48 - 1, lowestOutstanding: 7 };

describe('file storage: entry records with client session fields', () => {
  it('stores a stamped entry and a session entry with their typed fields, and reads them back unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-wal-record-'));
    try {
      const entries: Entry[] = [
        { index: 1, term: 1, kind: 'noop', data: '' },
        { index: 2, term: 1, kind: 'session', data: '' },
        { index: 3, term: 1, kind: 'normal', data: '{"json":"é ✓"}', stamp },
        { index: 4, term: 2, kind: 'normal', data: '', stamp: { session: 2, seq: 1, lowestOutstanding: 1 } },
        { index: 5, term: 2, kind: 'normal', data: 'unstamped' },
      ];
      const identity = { machineId: '1', members: ['1'] };
      const storage = new FileStorage({ dir, identity });
      await storage.load();
      await storage.append(entries);
      await storage.close();
      const again = new FileStorage({ dir, identity });
      expect((await again.load()).entries).to.deep.equal(entries);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the previous release's single-entry records: a stamp after the kind byte, flagged by its bit 0x80, then the data", () => {
    const stamped: Entry = { index: 9, term: 4, kind: 'normal', data: 'op', stamp };
    const record = singleEntryRecord(stamped);
    expect(record.length).to.equal(HEADER_BYTES + 13 + 18 + 2);
    expect(decoded(record)).to.deep.equal({ type: 'entry', entry: stamped });
    const session: Entry = { index: 10, term: 4, kind: 'session', data: '' };
    expect(decoded(singleEntryRecord(session))).to.deep.equal({ type: 'entry', entry: session });
  });

  it('reads a record an older version wrote exactly as before: an unstamped entry, its old session header in the data', () => {
    const cases: [Buffer, Entry][] = [
      [oldEntryPayload(1, 1, 0, LEGACY_OPEN_SESSION), { index: 1, term: 1, kind: 'normal', data: LEGACY_OPEN_SESSION }],
      [oldEntryPayload(2, 1, 0, legacyOperation(1, 1, 1, '"a"')), { index: 2, term: 1, kind: 'normal', data: legacyOperation(1, 1, 1, '"a"') }],
      [oldEntryPayload(3, 2, 1, ''), { index: 3, term: 2, kind: 'noop', data: '' }],
      [oldEntryPayload(4, 2, 2, 'c'), { index: 4, term: 2, kind: 'config', data: 'c' }],
    ];
    for (const [payload, entry] of cases) {
      const record = entryRecord(payload);
      expect(decoded(record)).to.deep.equal({ type: 'entry', entry });
    }
  });

  it('reads an unknown kind, a stamp on an entry that is not normal, or a cut stamp as corruption, with the reason', () => {
    const withKindByte = (kindByte: number, rest: Buffer): Buffer => {
      const p = oldEntryPayload(1, 1, 0, '');
      p.writeUInt8(kindByte, 12);
      return entryRecord(Buffer.concat([p, rest]));
    };
    const stampBytes = Buffer.alloc(18, 1);
    const cases: [Buffer, string][] = [
      [withKindByte(4, Buffer.alloc(0)), 'unknown entry kind 4'],
      [withKindByte(0x7f, Buffer.alloc(0)), 'unknown entry kind 127'],
      [withKindByte(0x84, stampBytes), 'unknown entry kind 4'],
      [withKindByte(0x81, stampBytes), 'a session stamp on a noop entry'],
      [withKindByte(0x82, stampBytes), 'a session stamp on a config entry'],
      [withKindByte(0x83, stampBytes), 'a session stamp on a session entry'],
      [withKindByte(0x80, Buffer.alloc(17)), 'stamped entry record too short'],
    ];
    for (const [record, reason] of cases) expect(decoded(record)).to.deep.equal({ status: 'corrupt', reason });
  });

  it('refuses to write a stamp number it cannot hold back, naming it', () => {
    const write = (s: typeof stamp) => () => encodeRecord({ type: 'entries', entries: [{ index: 1, term: 1, kind: 'normal', data: '', stamp: s }] });
    expect(write({ ...stamp, seq: 2 ** 48 })).to.throw(GraftError, /cannot write session number 281474976710656: beyond \d+: the log cannot hold it/);
    expect(write({ ...stamp, session: -1 })).to.throw(GraftError, /cannot write session number -1/);
  });
});

/** An entries record (type 4) around `payload`, with checksums that match it, however wrong the payload. */
function entriesRecord(payload: Buffer): Buffer {
  const record = entryRecord(payload);
  record.writeUInt8(4, 12);
  record.writeUInt32LE(crc32(record.subarray(4, 16)), 0);
  return record;
}

describe('file storage: a batch of entries in one record (type 4)', () => {
  const batch: Entry[] = [
    { index: 1, term: 2, kind: 'noop', data: '' },
    { index: 2, term: 2, kind: 'session', data: '' },
    { index: 3, term: 3, kind: 'normal', data: '{"json":"é ✓ 😀 \\"q\\""}', stamp },
    { index: 4, term: 3, kind: 'config', data: '{"voters":["1","2","3"],"outgoing":[],"learners":[],"addresses":{}}' },
    { index: 5, term: 3, kind: 'normal', data: 'unstamped' },
  ];

  it('reads back the entries it was written with, under one header and one checksum', () => {
    const record = encodeRecord({ type: 'entries', entries: batch });
    expect(record.readUInt8(12)).to.equal(4);
    expect(decoded(record)).to.deep.equal({ type: 'entries', entries: batch });
    expect(record.length).to.be.below(batch.reduce((bytes, e) => bytes + singleEntryRecord(e).length, 0));
  });

  it('a log of single-entry records (older versions) followed by batches reads back whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-wal-batch-'));
    try {
      const identity = { machineId: '1', members: ['1'] };
      const first = new FileStorage({ dir, identity, segmentBytes: 1 << 20 });
      await first.load();
      await first.append(batch.slice(0, 2));
      await first.close();
      // Rewrite what it wrote as an older version would have: one record per entry.
      const segment = join(
        dir,
        readdirSync(dir).find((name) => name.endsWith('.log'))!,
      );
      const written = readFileSync(segment);
      const hardState = written.subarray(0, written.length - encodeRecord({ type: 'entries', entries: batch.slice(0, 2) }).length);
      writeFileSync(segment, Buffer.concat([hardState, ...batch.slice(0, 2).map(singleEntryRecord)]));
      const second = new FileStorage({ dir, identity, segmentBytes: 1 << 20 });
      expect((await second.load()).entries).to.deep.equal(batch.slice(0, 2));
      await second.append(batch.slice(2));
      await second.close();
      const third = new FileStorage({ dir, identity, segmentBytes: 1 << 20 });
      expect((await third.load()).entries).to.deep.equal(batch);
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a batch whose checksums match but whose contents are wrong as corruption, with the reason', () => {
    const payload = encodeRecord({ type: 'entries', entries: batch }).subarray(HEADER_BYTES);
    const changed = (at: number, value: number): Buffer => {
      const copy = Buffer.from(payload);
      copy[at] = value;
      return copy;
    };
    const reason = (p: Buffer): unknown => (decoded(entriesRecord(p)) as { reason?: string }).reason;
    expect(reason(payload.subarray(0, 9))).to.equal('entries record too short');
    expect(reason(changed(0, 0))).to.equal('entries record starting at index 0');
    // The count (at byte 6) says one more entry than the bytes hold.
    expect(reason(changed(6, batch.length + 1))).to.equal('entries from 1[5]: the bytes end inside this entry');
    expect(reason(changed(6, batch.length - 1))).to.match(/^entries record with \d+ bytes after its last entry$/);
    // The first entry's kind byte (after the 10 fixed bytes and its 6-byte term).
    expect(reason(changed(16, 9))).to.equal('entries from 1[0].kind: expected a kind code of 0 to 3, got 9');
    expect(reason(changed(16, 0x81))).to.equal('entries from 1[0].stamp: only a normal entry carries a stamp, this is a noop entry');
  });

  it('refuses to write a batch that is not contiguous, or a term it cannot hold back', () => {
    const gap = [batch[0]!, batch[2]!];
    expect(() => encodeRecord({ type: 'entries', entries: gap })).to.throw(GraftError, /cannot write entries 1\.\. to the log: entry 1 is 3/);
    expect(() => encodeRecord({ type: 'entries', entries: [{ index: 1, term: 2 ** 48, kind: 'noop', data: '' }] })).to.throw(
      GraftError,
      /cannot write term 281474976710656: beyond \d+: the log cannot hold it/,
    );
  });
});
