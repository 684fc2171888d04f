import { crc32 } from 'node:zlib';
import { MAX_INDEX } from '../../core/limits.ts';
import type { Entry, EntryKind, HardState, SessionStamp } from '../../core/types.ts';
import { EntryReader, entriesRoom, writeEntries } from '../../entry-bytes.ts';
import { GraftError } from '../../errors.ts';
import { readUint48, writeUint48 } from '../../uint48.ts';

/**
 * The write-ahead log's record format. Each record is a 16-byte header and a payload:
 *
 *   0  u32  headerCrc   crc32 of bytes 4..16, so a damaged length is caught before it is trusted
 *   4  u32  length      payload bytes
 *   8  u32  payloadCrc  crc32 of the payload
 *  12  u8   type        1 entry, 2 hard state, 3 truncate, 4 entries
 *  13  3 bytes reserved, zero
 *
 * Integers in payloads are little-endian; indexes and terms take 6 bytes (up to MAX_INDEX, 2^48 - 1).
 *
 * Payloads:
 *   entry       index u48, term u48, kind u8, [stamp], data (UTF-8, the rest)
 *               kind: low 7 bits 0 normal, 1 noop, 2 config, 3 session; bit 0x80 set: a stamp follows,
 *               session u48, seq u48, lowestOutstanding u48 (Entry.stamp, only on normal entries).
 *               Records written before stamps existed never set the bit and read as before.
 *   hard state  term u48, commit u48, flags u8 (1 a vote follows, 2 rejoining), vote (UTF-8, the rest)
 *   truncate    fromIndex u48
 *   entries     firstIndex u48, count u32, then the entries as src/entry-bytes.ts lays them out: a
 *               batch of contiguous entries under one header and one checksum, which the log writes
 *               now (an entry record each cost a header and two checksums per entry).
 */
export const HEADER_BYTES = 16;

/** A record as the log writes it now. */
export type WrittenRecord =
  /** Contiguous entries, from entries[0].index. */
  | { readonly type: 'entries'; readonly entries: readonly Entry[] }
  | { readonly type: 'hardState'; readonly hardState: HardState }
  /** Every entry at or after `fromIndex` written before this record is void (a conflicting suffix, §5.3). */
  | { readonly type: 'truncate'; readonly fromIndex: number };

/** A record as the log reads it: also one entry alone, as versions before batches wrote each entry. */
export type WalRecord = WrittenRecord | { readonly type: 'entry'; readonly entry: Entry };

const TYPE_CODES = { entry: 1, hardState: 2, truncate: 3, entries: 4 } as const;
/** An entries record's fixed fields: first index, count. */
const ENTRIES_FIXED = 10;
/** Flags of a hard state record (byte 12): a vote follows; the node waits to be caught up (HardState.rejoining). */
const HAS_VOTE = 1;
const REJOINING = 2;
const KINDS: readonly EntryKind[] = ['normal', 'noop', 'config', 'session'];
/** In an entry's kind byte: a session stamp follows it. */
const HAS_STAMP = 0x80;
/** An entry's fixed fields: index, term, kind. */
const ENTRY_FIXED = 13;
const STAMP_BYTES = 18;

/** The outcome of reading the record at an offset. */
export type ReadResult =
  | { readonly status: 'ok'; readonly record: WalRecord; readonly next: number }
  /** Nothing more: the offset is the end of the data. */
  | { readonly status: 'end' }
  /** A record cut short by a crash during its write: only possible at the very end of the last segment. */
  | { readonly status: 'torn'; readonly reason: string }
  | { readonly status: 'corrupt'; readonly reason: string };

export function encodeRecord(record: WrittenRecord): Buffer {
  return encodeRecords([record]);
}

/**
 * `records` encoded one after another, as the log writes a batch: each straight into one buffer,
 * sized first, rather than a payload, a record and a copy of each into the batch (a seventh of a
 * follower's time under load went to that).
 */
export function encodeRecords(records: readonly WrittenRecord[]): Buffer {
  let room = 0;
  for (const record of records) room += HEADER_BYTES + maxPayloadBytes(record);
  const buf = Buffer.allocUnsafe(room);
  let at = 0;
  for (const record of records) {
    const start = at + HEADER_BYTES;
    const end = writePayload(record, buf, start);
    buf.writeUInt32LE(end - start, at + 4);
    buf.writeUInt32LE(crc32(buf.subarray(start, end)), at + 8);
    buf[at + 12] = TYPE_CODES[record.type];
    buf[at + 13] = buf[at + 14] = buf[at + 15] = 0;
    buf.writeUInt32LE(headerCrc(buf, at + 4), at);
    at = end;
  }
  return buf.subarray(0, at);
}

/** crc32 (the zlib polynomial) of the 12 header bytes at `at`, in JS: a native call costs more than so few bytes. */
function headerCrc(buf: Buffer, at: number): number {
  let crc = 0xffffffff;
  for (let i = at; i < at + 12; i++) crc = CRC_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/**
 * At least the length of `record`'s payload, in bytes: a UTF-8 string takes at most three bytes per
 * UTF-16 unit, and bounding it is cheaper than measuring it (the batch is trimmed once written).
 */
function maxPayloadBytes(record: WrittenRecord): number {
  switch (record.type) {
    case 'entries':
      return ENTRIES_FIXED + entriesRoom(record.entries);
    case 'hardState':
      return 13 + 3 * (record.hardState.vote ?? '').length;
    case 'truncate':
      return 6;
  }
}

/** Writes `record`'s payload into `buf` at `at` (maxPayloadBytes of room); returns where it ends. */
function writePayload(record: WrittenRecord, buf: Buffer, at: number): number {
  switch (record.type) {
    case 'entries': {
      const { entries } = record;
      const first = entries[0]?.index ?? 1;
      for (let i = 0; i < entries.length; i++) {
        if (entries[i]!.index !== first + i)
          throw new GraftError('STORAGE_FAILED', `cannot write entries ${first}.. to the log: entry ${i} is ${entries[i]!.index}`);
      }
      writeUint48(buf, at, storable(first, 'entry index'));
      buf.writeUInt32LE(entries.length, at + 6);
      return writeEntries(entries, buf, at + ENTRIES_FIXED, (message) => new GraftError('STORAGE_FAILED', `${message}: the log cannot hold it`));
    }
    case 'hardState': {
      const { term, commit, vote, rejoining } = record.hardState;
      buf.writeUIntLE(storable(term, 'term'), at, 6);
      buf.writeUIntLE(storable(commit, 'commit index'), at + 6, 6);
      buf.writeUInt8((vote === null ? 0 : HAS_VOTE) | (rejoining === true ? REJOINING : 0), at + 12);
      return at + 13 + buf.write(vote ?? '', at + 13, 'utf8');
    }
    case 'truncate':
      buf.writeUIntLE(storable(record.fromIndex, 'truncation index'), at, 6);
      return at + 6;
  }
}

/** `value`, if the log can hold it; numbers from peers are checked against the same limit, so this never throws for them. */
function storable(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_INDEX) {
    throw new GraftError('STORAGE_FAILED', `cannot write ${what} ${value} to the log: it holds whole numbers up to ${MAX_INDEX}`);
  }
  return value;
}

/**
 * Reads the record at `offset` of `buf` (a whole segment). A damaged record followed by nothing but
 * the end of the file, or by zero bytes (a file extended but never written), is a torn write; a
 * damaged record with data after it is corruption.
 */
export function readRecord(buf: Buffer, offset: number): ReadResult {
  const remaining = buf.length - offset;
  if (remaining === 0) return { status: 'end' };
  if (remaining < HEADER_BYTES) return { status: 'torn', reason: `${remaining} bytes of a ${HEADER_BYTES}-byte header` };
  const header = buf.subarray(offset, offset + HEADER_BYTES);
  if (header.readUInt32LE(0) !== crc32(header.subarray(4, 16))) {
    return onlyZerosFrom(buf, offset)
      ? { status: 'torn', reason: 'zero bytes where a record should start' }
      : { status: 'corrupt', reason: 'record header checksum mismatch' };
  }
  const length = header.readUInt32LE(4);
  const end = offset + HEADER_BYTES + length;
  if (end > buf.length) return { status: 'torn', reason: `a ${length}-byte record with only ${remaining - HEADER_BYTES} bytes written` };
  const payload = buf.subarray(offset + HEADER_BYTES, end);
  if (header.readUInt32LE(8) !== crc32(payload)) {
    return end === buf.length || onlyZerosFrom(buf, end)
      ? { status: 'torn', reason: "the last record's payload checksum does not match (an incomplete write)" }
      : { status: 'corrupt', reason: 'record payload checksum mismatch' };
  }
  const record = decodePayload(header.readUInt8(12), payload);
  if (typeof record === 'string') return { status: 'corrupt', reason: record };
  return { status: 'ok', record, next: end };
}

function decodePayload(type: number, p: Buffer): WalRecord | string {
  switch (type) {
    case TYPE_CODES.entry:
      return decodeEntry(p);
    case TYPE_CODES.entries:
      return decodeEntries(p);
    case TYPE_CODES.hardState: {
      if (p.length < 13) return 'hard state record too short';
      const flags = p.readUInt8(12);
      if ((flags & ~(HAS_VOTE | REJOINING)) !== 0) return `unknown hard state flags ${flags}`;
      const hardState = { term: p.readUIntLE(0, 6), commit: p.readUIntLE(6, 6), vote: (flags & HAS_VOTE) === 0 ? null : p.toString('utf8', 13) };
      return { type: 'hardState', hardState: (flags & REJOINING) === 0 ? hardState : { ...hardState, rejoining: true as const } };
    }
    case TYPE_CODES.truncate:
      if (p.length !== 6) return 'truncate record of the wrong size';
      return { type: 'truncate', fromIndex: p.readUIntLE(0, 6) };
    default:
      return `unknown record type ${type}`;
  }
}

function decodeEntry(p: Buffer): WalRecord | string {
  if (p.length < ENTRY_FIXED) return 'entry record too short';
  const kindByte = p.readUInt8(12);
  const kind = KINDS[kindByte & ~HAS_STAMP];
  if (kind === undefined) return `unknown entry kind ${kindByte & ~HAS_STAMP}`;
  const entry = { index: p.readUIntLE(0, 6), term: p.readUIntLE(6, 6), kind };
  if ((kindByte & HAS_STAMP) === 0) return { type: 'entry', entry: { ...entry, data: p.toString('utf8', ENTRY_FIXED) } };
  if (kind !== 'normal') return `a session stamp on a ${kind} entry`;
  if (p.length < ENTRY_FIXED + STAMP_BYTES) return 'stamped entry record too short';
  const stamp: SessionStamp = {
    session: p.readUIntLE(ENTRY_FIXED, 6),
    seq: p.readUIntLE(ENTRY_FIXED + 6, 6),
    lowestOutstanding: p.readUIntLE(ENTRY_FIXED + 12, 6),
  };
  return { type: 'entry', entry: { ...entry, data: p.toString('utf8', ENTRY_FIXED + STAMP_BYTES), stamp } };
}

function decodeEntries(p: Buffer): WalRecord | string {
  if (p.length < ENTRIES_FIXED) return 'entries record too short';
  const first = readUint48(p, 0);
  if (first < 1) return 'entries record starting at index 0';
  const reader = new EntryReader(p, ENTRIES_FIXED, (message) => new Error(message));
  try {
    const entries = reader.read(p.readUInt32LE(6), first - 1, `entries from ${first}`);
    if (reader.remaining > 0) return `entries record with ${reader.remaining} bytes after its last entry`;
    return { type: 'entries', entries };
  } catch (error) {
    return (error as Error).message;
  }
}

function onlyZerosFrom(buf: Buffer, offset: number): boolean {
  for (let i = offset; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
