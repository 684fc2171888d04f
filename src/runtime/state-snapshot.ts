import { GraftError } from '../errors.ts';
import type { GraftStateFormat } from './graft-state.ts';

/*
 * The bytes of a snapshot, as the state machine side writes and reads them: Graft's own state first
 * (the client session table and the terms of applied entries, which every snapshot must carry so
 * that exactly-once survives compaction), then the application's bytes as its hook streamed them.
 *
 *   0  4 bytes  magic: 'GRS2' (format 2), or 'GRST' (format 1, still read; see graft-state.ts)
 *   4  u32      length of Graft's state, little-endian
 *   8  that many bytes of UTF-8 text
 *   .. the application's state, to the end
 */
const MAGIC: Record<GraftStateFormat, Buffer> = { 1: Buffer.from('GRST', 'latin1'), 2: Buffer.from('GRS2', 'latin1') };
const PREFIX_BYTES = 8;
/** Graft's own state larger than this is taken for damage rather than trusted. */
const MAX_GRAFT_STATE_BYTES = 1 << 30;

/** A snapshot's bytes: `graftState` (format 2 text) framed, then the application's chunks. */
export async function* snapshotBytes(graftState: string, app: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const text = Buffer.from(graftState, 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC[2].copy(prefix);
  prefix.writeUInt32LE(text.length, 4);
  yield Buffer.concat([prefix, text]);
  for await (const chunk of app) {
    if (!(chunk instanceof Uint8Array)) throw new GraftError('APPLY_FAILED', `the snapshot hook yielded a ${typeof chunk}, not a Uint8Array`);
    yield chunk;
  }
}

/**
 * Splits a snapshot's bytes into Graft's state, with the format it is written in, and the
 * application's stream (which must be read to its end, or dropped).
 */
export async function readSnapshotBytes(
  data: AsyncIterable<Uint8Array>,
): Promise<{ graftState: string; format: GraftStateFormat; app: AsyncIterable<Uint8Array> }> {
  const it = data[Symbol.asyncIterator]();
  let held = Buffer.alloc(0);
  const fill = async (bytes: number): Promise<void> => {
    while (held.length < bytes) {
      const next = await it.next();
      if (next.done === true) throw new GraftError('STORAGE_CORRUPT', `the snapshot ends after ${held.length} bytes, inside Graft's own state`);
      held = Buffer.concat([held, next.value]);
    }
  };
  await fill(PREFIX_BYTES);
  const magic = held.subarray(0, 4);
  const format: GraftStateFormat | null = magic.equals(MAGIC[2]) ? 2 : magic.equals(MAGIC[1]) ? 1 : null;
  if (format === null) throw new GraftError('STORAGE_CORRUPT', 'the snapshot does not begin with Graft state (bad magic number)');
  const length = held.readUInt32LE(4);
  if (length > MAX_GRAFT_STATE_BYTES) throw new GraftError('STORAGE_CORRUPT', `the snapshot claims ${length} bytes of Graft state, more than can be right`);
  await fill(PREFIX_BYTES + length);
  const graftState = held.subarray(PREFIX_BYTES, PREFIX_BYTES + length).toString('utf8');
  const rest = held.subarray(PREFIX_BYTES + length);
  async function* app(): AsyncGenerator<Uint8Array> {
    if (rest.length > 0) yield rest;
    for (;;) {
      const next = await it.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  return { graftState, format, app: app() };
}
