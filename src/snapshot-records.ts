import { StringDecoder } from 'node:string_decoder';
import superjson from 'superjson';
import { superjsonText } from './serializer.ts';

/** Records are gathered into chunks of about this many bytes. */
const CHUNK_BYTES = 64 * 1024;

/**
 * A state machine's records as snapshot bytes, for GraftOptions.snapshot: one superjson line per
 * record (Map, Set, Date, BigInt and undefined survive), gathered into chunks of about 64 KiB, each
 * made only when the reader asks. Pass records already captured (say, `[...map]`): they are read
 * lazily, while applying goes on.
 */
export async function* recordsToSnapshot(records: Iterable<unknown>): AsyncGenerator<Uint8Array> {
  let lines: string[] = [];
  let size = 0;
  for (const record of records) {
    const line = superjsonText(record);
    lines.push(line);
    size += line.length + 1;
    if (size >= CHUNK_BYTES) {
      yield Buffer.from(lines.join('\n') + '\n', 'utf8');
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) yield Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/** The records of snapshot bytes made by `recordsToSnapshot`, in order, for GraftOptions.restore. */
export async function* snapshotToRecords<T = unknown>(data: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  const parse = (text: string): T => {
    line++;
    try {
      return superjson.parse<T>(text);
    } catch (error) {
      throw new Error(`snapshot record ${line} is not valid: ${(error as Error).message}`, { cause: error });
    }
  };
  for await (const chunk of data) {
    const lines = (pending + decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))).split('\n');
    pending = lines.pop()!;
    for (const text of lines) yield parse(text);
  }
  pending += decoder.end();
  if (pending !== '') yield parse(pending);
}
