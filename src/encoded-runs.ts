import type { Entry } from './core/types.ts';

/*
 * Entries encoded lately (entry-bytes.ts), with their bytes, so that the same entries are encoded
 * once: a leader writes each new entry into a frame for every follower and into its own log; a
 * follower writes into its log the entries a frame brought, whose bytes it has already. An operation's
 * bytes are made once and then copied, to the wire and to the disk.
 *
 * Entries are recognised by identity (a log's entries are never changed in place, and the runs hold
 * copies of the lists), and the bytes are the runs' own (never a frame's, which the socket owns).
 * Memory is bounded: the newest runs, up to MAX_RUNS and MAX_BYTES. A run is wanted again within a
 * few turns of the loop, and only a few runs are kept: a run holds its entries, and holding sixteen
 * kept a busy leader's entries alive long enough for the garbage collector to promote them.
 */
const MAX_RUNS = 4;
const MAX_BYTES = 4 * 1024 * 1024;

interface Run {
  readonly entries: readonly Entry[];
  readonly bytes: Buffer;
  /** Where each entry begins in `bytes`, and where the last ends. */
  readonly offsets: Uint32Array;
}

/** Newest first. */
let runs: Run[] = [];
let heldBytes = 0;

/**
 * Remembers `entries` (the list copied) as encoded in `source` from `start` to `end` (the bytes
 * copied, so the caller's buffer stays the caller's), entry i from offsets[i]. A run larger than
 * everything kept is not copied at all.
 */
export function rememberRun(entries: readonly Entry[], source: Buffer, start: number, end: number, offsets: Uint32Array): void {
  if (entries.length === 0 || end - start > MAX_BYTES) return;
  const bytes = Buffer.from(source.subarray(start, end));
  runs.unshift({ entries: entries.slice(), bytes, offsets });
  heldBytes += bytes.length;
  while (runs.length > MAX_RUNS || heldBytes > MAX_BYTES) heldBytes -= runs.pop()!.bytes.length;
}

/**
 * The bytes of entries[from], and of as many entries after it as one remembered run holds in the
 * same order: [bytes, start, end, how many]; null when no run holds entries[from].
 */
export function recallRun(entries: readonly Entry[], from: number): readonly [Buffer, number, number, number] | null {
  const first = entries[from]!;
  for (const run of runs) {
    const k = first.index - (run.entries[0]?.index ?? 0);
    if (k < 0 || k >= run.entries.length || run.entries[k] !== first) continue;
    let n = 1;
    while (from + n < entries.length && k + n < run.entries.length && run.entries[k + n] === entries[from + n]) n++;
    return [run.bytes, run.offsets[k]!, run.offsets[k + n]!, n];
  }
  return null;
}

/** Forgets every run (tests, and a node that wants its memory back). */
export function forgetRuns(): void {
  runs = [];
  heldBytes = 0;
}
