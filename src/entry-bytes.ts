import { decodeConfiguration } from './core/configuration-format.ts';
import { MAX_INDEX, MAX_TERM } from './core/limits.ts';
import type { Entry, EntryKind } from './core/types.ts';
import { recallRun, rememberRun } from './encoded-runs.ts';
import { readUint48, writeUint48 } from './uint48.ts';

/*
 * Runs of log entries as bytes: the entries of appends in a binary frame (transport/codec.ts), and of
 * a batch in the write-ahead log (storage/file/record.ts). An entry's index is not written: it follows
 * the index before the run. Its data is UTF-8 as is, neither escaped into JSON text nor unescaped
 * (which cost a leader and a follower each a tenth of its time under load).
 *
 *   u48  term
 *   u8   kind: low 7 bits 0 normal, 1 noop, 2 config, 3 session; bit 0x80 set: a stamp follows
 *   [u48 session, u48 seq, u48 lowestOutstanding]   the stamp (only on a normal entry)
 *   u32  data length in bytes
 *   the data, UTF-8
 */
const KIND_CODES: Record<EntryKind, number> = { normal: 0, noop: 1, config: 2, session: 3 };
const KINDS: readonly EntryKind[] = ['normal', 'noop', 'config', 'session'];
const HAS_STAMP = 0x80;
const FIXED_BYTES = 11;
const STAMP_BYTES = 18;

/** At least the bytes `entries` take: a UTF-16 unit takes at most three bytes of UTF-8. */
export function entriesRoom(entries: readonly Entry[]): number {
  let room = 0;
  for (const entry of entries) room += FIXED_BYTES + STAMP_BYTES + 3 * entry.data.length;
  return room;
}

/** Makes the error for what cannot be written or read, in the words of its caller (a bad frame, a damaged log). */
export type EntryBytesFailure = (message: string) => Error;

/**
 * Writes `entries` into `buf` at `at` (entriesRoom of room); returns where they end. Entries encoded
 * lately are copied, not encoded again (encoded-runs.ts). A number beyond what 6 bytes hold (never in
 * a node's own entries: its log refuses to store one) is `fail`ed.
 */
export function writeEntries(entries: readonly Entry[], buf: Buffer, at: number, fail: EntryBytesFailure): number {
  let i = 0;
  while (i < entries.length) {
    const known = recallRun(entries, i);
    if (known === null) break;
    const [bytes, start, end, count] = known;
    at += bytes.copy(buf, at, start, end);
    i += count;
  }
  if (i === entries.length) return at;
  // Encoded whole here: remembered, for the next place these entries go.
  const offsets = i === 0 ? new Uint32Array(entries.length + 1) : null;
  const from = at;
  for (; i < entries.length; i++) {
    if (offsets !== null) offsets[i] = at - from;
    at = writeEntry(entries[i]!, buf, at, fail);
  }
  if (offsets !== null) {
    offsets[entries.length] = at - from;
    rememberRun(entries, buf, from, at, offsets);
  }
  return at;
}

function writeEntry(entry: Entry, buf: Buffer, at: number, fail: EntryBytesFailure): number {
  writeUint48(buf, at, checked(entry.term, MAX_TERM, 'term', fail));
  const stamp = entry.stamp;
  buf[at + 6] = KIND_CODES[entry.kind] | (stamp === undefined ? 0 : HAS_STAMP);
  at += 7;
  if (stamp !== undefined) {
    writeUint48(buf, at, checked(stamp.session, MAX_INDEX, 'session number', fail));
    writeUint48(buf, at + 6, checked(stamp.seq, MAX_INDEX, 'session number', fail));
    writeUint48(buf, at + 12, checked(stamp.lowestOutstanding, MAX_INDEX, 'session number', fail));
    at += STAMP_BYTES;
  }
  const length = buf.write(entry.data, at + 4, 'utf8');
  buf.writeUInt32LE(length, at);
  return at + 4 + length;
}

/** `value`, unless it is beyond `max` (or not a number of 0 or more): then `fail`ed, named `what`. */
function checked(value: number, max: number, what: string, fail: EntryBytesFailure): number {
  if (!(value >= 0 && value <= max)) throw fail(`cannot write ${what} ${value}: beyond ${max}`);
  return value;
}

/**
 * Reads runs of entries, checking each field as the JSON frame decoder does; what is wrong is
 * `fail`ed, naming where. With `remember`, each run read is remembered with a copy of its bytes, so
 * that the log writes them as they came (encoded-runs.ts).
 */
export class EntryReader {
  constructor(
    private readonly buf: Buffer,
    private at: number,
    private readonly fail: EntryBytesFailure,
    private readonly remember = false,
  ) {}

  /** Bytes left unread. */
  get remaining(): number {
    return this.buf.length - this.at;
  }

  /** The next `count` entries, which follow `prevLogIndex`; `path` names them in errors. */
  read(count: number, prevLogIndex: number, path: string): Entry[] {
    if (prevLogIndex + count > MAX_INDEX) {
      throw this.fail(`${path}[${count - 1}].index: ${prevLogIndex + count} is beyond the largest log index a node can hold (${MAX_INDEX})`);
    }
    const entries = new Array<Entry>(count);
    const start = this.at;
    const offsets = this.remember ? new Uint32Array(count + 1) : null;
    for (let i = 0; i < count; i++) {
      if (offsets !== null) offsets[i] = this.at - start;
      entries[i] = this.entry(prevLogIndex + 1 + i, path, i);
    }
    if (offsets !== null) {
      offsets[count] = this.at - start;
      rememberRun(entries, this.buf, start, this.at, offsets);
    }
    return entries;
  }

  /** Entry `i` of the run named `path`, at `index`; its name in an error is made only for the error. */
  private entry(index: number, path: string, i: number): Entry {
    const { buf } = this;
    this.need(7, path, i);
    const term = readUint48(buf, this.at);
    if (term > MAX_TERM) throw this.fail(`${path}[${i}].term: ${term} is beyond the largest term a node can hold (${MAX_TERM})`);
    const code = buf[this.at + 6]!;
    const kind = KINDS[code & ~HAS_STAMP];
    if (kind === undefined) throw this.fail(`${path}[${i}].kind: expected a kind code of 0 to 3, got ${code & ~HAS_STAMP}`);
    this.at += 7;
    let stamp: Entry['stamp'];
    if ((code & HAS_STAMP) !== 0) {
      if (kind !== 'normal') throw this.fail(`${path}[${i}].stamp: only a normal entry carries a stamp, this is a ${kind} entry`);
      this.need(STAMP_BYTES, path, i);
      stamp = { session: readUint48(buf, this.at), seq: readUint48(buf, this.at + 6), lowestOutstanding: readUint48(buf, this.at + 12) };
      this.at += STAMP_BYTES;
    }
    this.need(4, path, i);
    const length = buf.readUInt32LE(this.at);
    this.need(4 + length, path, i);
    const data = buf.toString('utf8', this.at + 4, this.at + 4 + length);
    this.at += 4 + length;
    if (kind === 'session' && data !== '') throw this.fail(`${path}[${i}].data: expected no data on a session entry, got ${length} bytes`);
    if (kind === 'config') {
      try {
        decodeConfiguration(data, `${path}[${i}].data`);
      } catch (error) {
        throw this.fail((error as Error).message);
      }
    }
    return stamp === undefined ? { index, term, kind, data } : { index, term, kind, data, stamp };
  }

  private need(bytes: number, path: string, i: number): void {
    if (this.at + bytes > this.buf.length) throw this.fail(`${path}[${i}]: the bytes end inside this entry`);
  }
}
