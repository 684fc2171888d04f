import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
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

  it('lays a stamp out after the kind byte, flagged by its bit 0x80: three 6-byte little-endian numbers, then the data', () => {
    const payload = encodeRecord({ type: 'entry', entry: { index: 9, term: 4, kind: 'normal', data: 'op', stamp } }).subarray(HEADER_BYTES);
    expect(payload.length).to.equal(13 + 18 + 2);
    expect(payload.readUInt8(12)).to.equal(0x80);
    expect([payload.readUIntLE(13, 6), payload.readUIntLE(19, 6), payload.readUIntLE(25, 6)]).to.deep.equal([3, 2 ** 48 - 1, 7]);
    expect(payload.toString('utf8', 31)).to.equal('op');
    const session = encodeRecord({ type: 'entry', entry: { index: 10, term: 4, kind: 'session', data: '' } }).subarray(HEADER_BYTES);
    expect([session.length, session.readUInt8(12)]).to.deep.equal([13, 3]);
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
      // The same entry written today takes the same bytes.
      expect(encodeRecord({ type: 'entry', entry }).equals(record)).to.equal(true);
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
    const write = (s: typeof stamp) => () => encodeRecord({ type: 'entry', entry: { index: 1, term: 1, kind: 'normal', data: '', stamp: s } });
    expect(write({ ...stamp, seq: 2 ** 48 })).to.throw(GraftError, /cannot write session seq 281474976710656 to the log/);
    expect(write({ ...stamp, session: -1 })).to.throw(GraftError, /cannot write session id -1/);
  });
});
