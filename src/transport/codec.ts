import { MAX_INDEX, MAX_TERM } from '../core/limits.ts';
import { decodeConfiguration, parseConfiguration } from '../core/configuration-format.ts';
import type { Command, Entry, EntryKind, SessionStamp, SnapshotMeta } from '../core/types.ts';
import { isGraftErrorCode } from '../errors.ts';
import { EntryReader, entriesRoom, writeEntries } from '../entry-bytes.ts';
import { FrameError } from './frame-error.ts';
import type { PeerMessage } from './peer-messages.ts';
import { LEGACY_MARK } from '../session/legacy-command.ts';

export { FrameError } from './frame-error.ts';

/** A snapshot chunk's data: base64 of at most 1 MiB. */
const MAX_CHUNK_TEXT = Math.ceil((1 << 20) / 3) * 4;
/**
 * At most this many messages in a frame, entries in an append or commands in a forward: far above
 * what a node sends (a leader puts at most 512 entries in an append), and a bound on the objects one
 * frame can make a node build, whatever its size.
 */
export const MAX_LIST = 65_536;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The version of the frame format; a frame of another version is refused, at the hello already, so
 * that nodes of versions that cannot understand each other say so rather than drop messages.
 * 2: entries carry their session stamp and kind as fields; forwarded operations are typed commands.
 * 3: nodes send binary frames, the entries of appends as bytes (entry-bytes.ts).
 */
export const FRAME_VERSION = 3;

/*
 * A frame is one WebSocket message, in either of two encodings of the same messages:
 *
 * JSON text, `{"v": 3, "messages": [...]}`: readable, and what tests and tools write by hand.
 *
 * Binary, what nodes send:
 *   0  u8   0, which no JSON text begins with
 *   1  u8   FRAME_VERSION
 *   2  u32  n, the length of the JSON part, little-endian
 *   6  n bytes of JSON text, `{"messages": [...]}`, in which an append's `entries` is their count
 *   .. the entries of the appends, in order (entry-bytes.ts), to the end of the frame
 */
const BINARY_MARK = 0;
const BINARY_HEADER_BYTES = 6;

/** One frame as JSON text: `{"v":3,"messages":[...]}`. */
export function encodeFrame(messages: readonly PeerMessage[]): string {
  return JSON.stringify({ v: FRAME_VERSION, messages });
}

/** One frame in the binary encoding, as nodes send them. */
export function encodeBinaryFrame(messages: readonly PeerMessage[]): Buffer {
  const appends: (readonly Entry[])[] = [];
  const counted = messages.map((m) => {
    if (m.type !== 'AppendEntries') return m;
    appends.push(m.entries);
    return { ...m, entries: m.entries.length };
  });
  const json = JSON.stringify({ messages: counted });
  let room = BINARY_HEADER_BYTES + 3 * json.length;
  for (const entries of appends) room += entriesRoom(entries);
  const buf = Buffer.allocUnsafe(room);
  buf[0] = BINARY_MARK;
  buf[1] = FRAME_VERSION;
  const jsonBytes = buf.write(json, BINARY_HEADER_BYTES, 'utf8');
  buf.writeUInt32LE(jsonBytes, 2);
  let at = BINARY_HEADER_BYTES + jsonBytes;
  for (const entries of appends) at = writeEntries(entries, buf, at, frameError);
  return buf.subarray(0, at);
}

/** Parses and validates a frame, in either encoding; nothing unvalidated reaches the core. Throws FrameError. */
export function decodeFrame(data: string | Buffer, maxBytes: number): PeerMessage[] {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxBytes) throw new FrameError(`frame of ${size} bytes is over the limit of ${maxBytes}`);
  if (typeof data !== 'string' && data[0] === BINARY_MARK) return decodeBinaryFrame(data);
  const frame = parseJson(data);
  const obj = record(frame, 'frame');
  if (obj['v'] !== FRAME_VERSION) throw new FrameError(`frame.v: expected version ${FRAME_VERSION}, got ${show(obj['v'])}`);
  const messages = obj['messages'];
  list(messages, 'frame.messages');
  return messages.map((m, i) => validatePeerMessage(m, `messages[${i}]`));
}

const frameError = (message: string): FrameError => new FrameError(message);

function decodeBinaryFrame(buf: Buffer): PeerMessage[] {
  if (buf.length < BINARY_HEADER_BYTES) throw new FrameError(`binary frame of ${buf.length} bytes, shorter than its ${BINARY_HEADER_BYTES}-byte header`);
  if (buf[1] !== FRAME_VERSION) throw new FrameError(`binary frame: expected version ${FRAME_VERSION}, got ${buf[1]}`);
  const jsonEnd = BINARY_HEADER_BYTES + buf.readUInt32LE(2);
  if (jsonEnd > buf.length) throw new FrameError(`binary frame: its JSON part would end at byte ${jsonEnd}, after the frame's ${buf.length}`);
  const obj = record(parseJson(buf.toString('utf8', BINARY_HEADER_BYTES, jsonEnd)), 'frame');
  const messages = obj['messages'];
  list(messages, 'frame.messages');
  const reader = new EntryReader(buf, jsonEnd, frameError, true);
  const decoded = messages.map((m, i) => validatePeerMessage(m, `messages[${i}]`, reader));
  if (reader.remaining > 0) throw new FrameError(`binary frame: ${reader.remaining} bytes after the last entry`);
  return decoded;
}

/** Parses the JSON of a frame, or throws FrameError. */
export function parseJson(data: string | Buffer): unknown {
  try {
    return JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as unknown;
  } catch (error) {
    throw new FrameError(`frame is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Checks that `value` is one well-formed peer message; `path` names it in errors. In a binary frame,
 * an append's entries are its count, and `entryBytes` reads them.
 */
export function validatePeerMessage(value: unknown, path: string, entryBytes: EntryReader | null = null): PeerMessage {
  const m = record(value, path);
  const base = { from: id(m, 'from', path), to: id(m, 'to', path) };
  const type = m['type'];
  switch (type) {
    case 'RequestVote':
      return {
        type,
        ...base,
        term: term(m, 'term', path),
        lastLogIndex: logIndex(m, 'lastLogIndex', path),
        lastLogTerm: term(m, 'lastLogTerm', path),
        transfer: bool(m, 'transfer', path),
      };
    case 'PreVote':
      return { type, ...base, term: term(m, 'term', path), lastLogIndex: logIndex(m, 'lastLogIndex', path), lastLogTerm: term(m, 'lastLogTerm', path) };
    case 'TimeoutNow':
      return { type, ...base, term: term(m, 'term', path) };
    case 'RequestVoteResponse':
    case 'PreVoteResponse':
      return { type, ...base, term: term(m, 'term', path), granted: bool(m, 'granted', path) };
    case 'AppendEntries': {
      const prevLogIndex = logIndex(m, 'prevLogIndex', path);
      return {
        type,
        ...base,
        term: term(m, 'term', path),
        prevLogIndex,
        prevLogTerm: term(m, 'prevLogTerm', path),
        entries:
          entryBytes === null
            ? entries(m['entries'], prevLogIndex, `${path}.entries`)
            : entryBytes.read(bounded(m, 'entries', path, MAX_LIST, 'count of entries'), prevLogIndex, `${path}.entries`),
        leaderCommit: logIndex(m, 'leaderCommit', path),
        readRound: nat(m, 'readRound', path),
      };
    }
    case 'AppendEntriesResponse':
      return {
        type,
        ...base,
        term: term(m, 'term', path),
        success: bool(m, 'success', path),
        matchIndex: logIndex(m, 'matchIndex', path),
        rejectedIndex: logIndex(m, 'rejectedIndex', path),
        conflictIndex: logIndex(m, 'conflictIndex', path),
        conflictTerm: m['conflictTerm'] === null ? null : term(m, 'conflictTerm', path),
        readRound: nat(m, 'readRound', path),
      };
    case 'ReadIndex':
      return { type, ...base, term: term(m, 'term', path), context: nat(m, 'context', path) };
    case 'ReadIndexResponse':
      return { type, ...base, term: term(m, 'term', path), context: nat(m, 'context', path), index: m['index'] === null ? null : logIndex(m, 'index', path) };
    case 'Forward': {
      const commands = m['commands'];
      list(commands, `${path}.commands`);
      return { type, ...base, id: nat(m, 'id', path), commands: commands.map((c, i) => command(c, `${path}.commands[${i}]`)) };
    }
    case 'ForwardResponse':
      return {
        type,
        ...base,
        id: nat(m, 'id', path),
        positions: positions(m['positions'], `${path}.positions`),
        error: forwardError(m['error'], `${path}.error`),
      };
    case 'SnapshotChunk': {
      const data = m['data'];
      if (typeof data !== 'string' || data.length > MAX_CHUNK_TEXT || data.length % 4 !== 0 || !BASE64.test(data)) {
        throw new FrameError(`${path}.data: expected base64 of at most ${MAX_CHUNK_TEXT} characters, got ${show(data)}`);
      }
      return {
        type,
        ...base,
        term: term(m, 'term', path),
        snapshot: snapshotMeta(m['snapshot'], `${path}.snapshot`),
        readRound: nat(m, 'readRound', path),
        attempt: nat(m, 'attempt', path),
        offset: nat(m, 'offset', path),
        data,
        done: bool(m, 'done', path),
      };
    }
    case 'SnapshotChunkAck': {
      const refused = m['refused'];
      if (refused !== null && (typeof refused !== 'string' || refused.length > 1024))
        throw new FrameError(`${path}.refused: expected null or a reason, got ${show(refused)}`);
      return {
        type,
        ...base,
        index: logIndex(m, 'index', path),
        attempt: nat(m, 'attempt', path),
        received: nat(m, 'received', path),
        saved: bool(m, 'saved', path),
        refused,
      };
    }
    default:
      throw new FrameError(`${path}.type: unknown message type ${show(type)}`);
  }
}

/** Checks that `value` is a list of at most MAX_LIST items. */
function list(value: unknown, path: string): asserts value is unknown[] {
  if (!Array.isArray(value)) throw new FrameError(`${path}: expected a list, got ${show(value)}`);
  if (value.length > MAX_LIST) throw new FrameError(`${path}: ${value.length} items, over the limit of ${MAX_LIST}`);
}

function entries(value: unknown, prevLogIndex: number, path: string): Entry[] {
  list(value, path);
  const read: Entry[] = new Array<Entry>(value.length);
  for (let i = 0; i < value.length; i++) read[i] = plainEntry(value[i], prevLogIndex + 1 + i) ?? checkedEntry(value[i], prevLogIndex, i, path);
  return read;
}

/**
 * A well-formed normal or no-op entry at `index`, read without building the paths that name a field
 * in an error (an append carries up to 512 entries, and most are this), or null: anything else, and
 * anything wrong, is for checkedEntry, which says what is wrong where, or reads a config entry.
 * Never accepts what checkedEntry refuses.
 */
export function plainEntry(value: unknown, index: number): Entry | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || index > MAX_INDEX) return null;
  const { index: given, term, kind, data, stamp } = value as Record<string, unknown>;
  if (given !== index || !within(term, MAX_TERM) || typeof data !== 'string') return null;
  if (kind !== 'normal' && kind !== 'noop') return null;
  if (stamp === undefined) return { index, term, kind, data };
  if (kind !== 'normal' || typeof stamp !== 'object' || stamp === null || Array.isArray(stamp)) return null;
  const { session, seq, lowestOutstanding } = stamp as Record<string, unknown>;
  if (!within(session, MAX_INDEX) || !within(seq, MAX_INDEX) || !within(lowestOutstanding, MAX_INDEX)) return null;
  return { index, term, kind, data, stamp: { session, seq, lowestOutstanding } };
}

function within(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

/** Entry `i` of an append, checked field by field: throws a FrameError naming what is wrong and where. */
export function checkedEntry(v: unknown, prevLogIndex: number, i: number, path: string): Entry {
  const p = `${path}[${i}]`;
  const e = record(v, p);
  const index = logIndex(e, 'index', p);
  if (index !== prevLogIndex + 1 + i)
    throw new FrameError(`${p}.index: expected ${prevLogIndex + 1 + i} (entries follow prevLogIndex contiguously), got ${index}`);
  const kind = e['kind'];
  if (!ENTRY_KINDS.includes(kind as EntryKind)) throw new FrameError(`${p}.kind: expected "normal", "noop", "config" or "session", got ${show(kind)}`);
  const data = e['data'];
  if (typeof data !== 'string') throw new FrameError(`${p}.data: expected a string, got ${show(data)}`);
  if (kind === 'session' && data !== '') throw new FrameError(`${p}.data: expected no data on a session entry, got ${show(data)}`);
  if (kind === 'config') asFrameError(() => decodeConfiguration(data, `${p}.data`));
  const entry: Entry = { index, term: term(e, 'term', p), kind: kind as EntryKind, data };
  if (e['stamp'] === undefined) return entry;
  if (kind !== 'normal') throw new FrameError(`${p}.stamp: only a normal entry carries a stamp, this is a ${kind as string} entry`);
  return { ...entry, stamp: stamp(e['stamp'], `${p}.stamp`) };
}

const ENTRY_KINDS: readonly EntryKind[] = ['normal', 'noop', 'config', 'session'];

/** A forwarded command: an operation, stamped when sent under a client session, or a session opening. */
function command(value: unknown, path: string): Command {
  const c = record(value, path);
  const kind = c['kind'];
  if (kind === 'session') {
    for (const key of ['data', 'stamp']) {
      if (c[key] !== undefined) throw new FrameError(`${path}.${key}: a session command carries none, got ${show(c[key])}`);
    }
    return { kind };
  }
  if (kind !== 'normal') throw new FrameError(`${path}.kind: expected "normal" or "session", got ${show(kind)}`);
  const data = c['data'];
  if (typeof data !== 'string') throw new FrameError(`${path}.data: expected a string, got ${show(data)}`);
  if (c['stamp'] !== undefined) return { kind, data, stamp: stamp(c['stamp'], `${path}.stamp`) };
  // Only logs written before session fields were typed hold such text; a new command must not pose as one.
  if (data.startsWith(LEGACY_MARK))
    throw new FrameError(`${path}.data: an unstamped operation may not begin with \\u0001, the mark of the old in-band session header`);
  return { kind, data };
}

/** A client session stamp (thesis §6.3): its numbers are stored in 6 bytes in the log, as indexes are. */
function stamp(value: unknown, path: string): SessionStamp {
  const s = record(value, path);
  return {
    session: bounded(s, 'session', path, MAX_INDEX, 'session number'),
    seq: bounded(s, 'seq', path, MAX_INDEX, 'session number'),
    lowestOutstanding: bounded(s, 'lowestOutstanding', path, MAX_INDEX, 'session number'),
  };
}

function snapshotMeta(value: unknown, path: string): SnapshotMeta {
  const m = record(value, path);
  const configuration = asFrameError(() => parseConfiguration(m['configuration'], `${path}.configuration`));
  return { index: logIndex(m, 'index', path), term: term(m, 'term', path), configuration };
}

/** Runs a check that throws a plain Error (the core's configuration format) and reports its failure as a bad frame. */
function asFrameError<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new FrameError((error as Error).message);
  }
}

function positions(value: unknown, path: string): { index: number; term: number }[] | null {
  if (value === null) return null;
  if (!Array.isArray(value)) throw new FrameError(`${path}: expected a list or null, got ${show(value)}`);
  return value.map((v, i) => {
    const p = record(v, `${path}[${i}]`);
    return { index: logIndex(p, 'index', `${path}[${i}]`), term: term(p, 'term', `${path}[${i}]`) };
  });
}

function forwardError(value: unknown, path: string): { code: string; message: string; leader: string | null } | null {
  if (value === null) return null;
  const e = record(value, path);
  if (!isGraftErrorCode(e['code'])) throw new FrameError(`${path}.code: expected one of Graft's error codes, got ${show(e['code'])}`);
  if (typeof e['message'] !== 'string') throw new FrameError(`${path}.message: expected a string, got ${show(e['message'])}`);
  return { code: e['code'] as string, message: e['message'] as string, leader: e['leader'] === null ? null : id(e, 'leader', path) };
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FrameError(`${path}: expected an object, got ${show(value)}`);
  return value as Record<string, unknown>;
}

function nat(obj: Record<string, unknown>, key: string, path: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new FrameError(`${path}.${key}: expected a non-negative integer, got ${show(v)}`);
  return v;
}

/** A term, no larger than MAX_TERM: a node must be able to store it and still hold elections after it. */
function term(obj: Record<string, unknown>, key: string, path: string): number {
  return bounded(obj, key, path, MAX_TERM, 'term');
}

/** A log index, no larger than MAX_INDEX, the largest the log can store. */
function logIndex(obj: Record<string, unknown>, key: string, path: string): number {
  return bounded(obj, key, path, MAX_INDEX, 'log index');
}

function bounded(obj: Record<string, unknown>, key: string, path: string, max: number, what: string): number {
  const v = nat(obj, key, path);
  if (v > max) throw new FrameError(`${path}.${key}: ${v} is beyond the largest ${what} a node can hold (${max})`);
  return v;
}

function id(obj: Record<string, unknown>, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '' || v.length > 256) throw new FrameError(`${path}.${key}: expected a machine id, got ${show(v)}`);
  return v;
}

function bool(obj: Record<string, unknown>, key: string, path: string): boolean {
  const v = obj[key];
  if (typeof v !== 'boolean') throw new FrameError(`${path}.${key}: expected true or false, got ${show(v)}`);
  return v;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // JSON.parse takes nesting that JSON.stringify has no stack for (a RangeError would escape the decoder).
    return `${Array.isArray(value) ? 'a list' : 'an object'} nested too deeply to show`;
  }
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
