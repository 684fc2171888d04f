import { expect } from 'chai';
import type { Entry } from '../../src/core/types.ts';
import { forgetRuns, recallRun } from '../../src/encoded-runs.ts';
import { EntryReader, entriesRoom, writeEntries } from '../../src/entry-bytes.ts';

const fail = (message: string): Error => new Error(message);

function entriesFrom(first: number, count: number, tag = 'op'): Entry[] {
  return Array.from({ length: count }, (_, i) => ({
    index: first + i,
    term: 2,
    kind: 'normal' as const,
    data: `{"${tag}":${first + i},"text":"é ✓"}`,
    stamp: { session: 1, seq: first + i, lowestOutstanding: first },
  }));
}

/** The bytes writeEntries makes of `entries`. */
function bytesOf(entries: readonly Entry[]): Buffer {
  const buf = Buffer.alloc(entriesRoom(entries));
  return buf.subarray(0, writeEntries(entries, buf, 0, fail));
}

describe('encoded runs: entries are encoded once, then copied', () => {
  beforeEach(() => forgetRuns());

  it('entries written once are recalled, alone or as any part of their run, with the bytes they were written as', () => {
    const run = entriesFrom(10, 6);
    const whole = bytesOf(run);
    forgetRuns();
    expect(bytesOf(run).equals(whole), 'the same bytes however often written').to.equal(true);
    const middle = run.slice(2, 5);
    const recalled = recallRun(middle, 0);
    expect(recalled?.[3], 'all three, from one run').to.equal(3);
    const [bytes, start, end] = recalled!;
    forgetRuns();
    expect(bytes.subarray(start, end).equals(bytesOf(middle))).to.equal(true);
  });

  it('recognises entries by identity: an equal entry that is another object is encoded afresh', () => {
    const run = entriesFrom(1, 3);
    bytesOf(run);
    const lookalike = run.map((e) => ({ ...e }));
    expect(recallRun(lookalike, 0)).to.equal(null);
    // A list that continues past its run is recalled up to the run's end; the rest is encoded.
    const longer = [...run, ...entriesFrom(4, 2)];
    expect(recallRun(longer, 0)?.[3]).to.equal(3);
    const written = bytesOf(longer);
    forgetRuns();
    expect(written.equals(bytesOf(longer))).to.equal(true);
  });

  it('a run read from a frame is remembered with a copy of its bytes, which later changes to the frame do not reach', () => {
    const run = entriesFrom(20, 4);
    const frame = bytesOf(run);
    forgetRuns();
    const decoded = new EntryReader(frame, 0, fail, true).read(4, 19, 'entries');
    expect(decoded).to.deep.equal(run);
    frame.fill(0);
    const [bytes, start, end, count] = recallRun(decoded, 0)!;
    expect(count).to.equal(4);
    forgetRuns();
    expect(bytes.subarray(start, end).equals(bytesOf(decoded))).to.equal(true);
    // Without `remember` (a log being replayed), nothing is kept.
    forgetRuns();
    const replayed = new EntryReader(bytesOf(run), 0, fail).read(4, 19, 'entries');
    expect(recallRun(replayed, 0)).to.equal(null);
  });

  it('keeps only the newest runs, up to 4 of them', () => {
    const runs = Array.from({ length: 5 }, (_, i) => entriesFrom(100 * i + 1, 2));
    for (const run of runs) bytesOf(run);
    expect(recallRun(runs[0]!, 0), 'the oldest is forgotten').to.equal(null);
    expect(recallRun(runs[1]!, 0)?.[3]).to.equal(2);
    expect(recallRun(runs[4]!, 0)?.[3]).to.equal(2);
  });
});
