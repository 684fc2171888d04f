import { expect } from 'chai';
import fc from 'fast-check';
import { EntryArchive } from '../../../src/core/entry-archive.ts';
import { RaftLog } from '../../../src/core/log.ts';
import type { Entry } from '../../../src/core/types.ts';

/** The log's rules at their plainest, every entry an object: what the archived log must answer alike. */
class PlainLog {
  entries: Entry[] = [];
  prevIndex = 0;
  prevTerm = 0;
  committed = 0;
  applied = 0;

  lastIndex(): number {
    return this.prevIndex + this.entries.length;
  }

  term(index: number): number | undefined {
    if (index === this.prevIndex) return this.prevTerm;
    return this.entries[index - this.prevIndex - 1]?.term;
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.filter((e) => e.index >= lo && e.index <= hi);
  }
}

type Step =
  | { readonly op: 'append'; readonly count: number; readonly termUp: number; readonly seed: number }
  | { readonly op: 'merge'; readonly from: number; readonly count: number; readonly conflictAt: number; readonly seed: number }
  | { readonly op: 'commit' | 'apply' | 'compact' | 'restore'; readonly at: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('append' as const), count: fc.integer({ min: 0, max: 6 }), termUp: fc.integer({ min: 0, max: 1 }), seed: fc.nat() }),
  fc.record({
    op: fc.constant('merge' as const),
    from: fc.nat(),
    count: fc.integer({ min: 0, max: 6 }),
    conflictAt: fc.integer({ min: 0, max: 8 }),
    seed: fc.nat(),
  }),
  fc.record({ op: fc.constantFrom('commit' as const, 'apply' as const, 'compact' as const, 'restore' as const), at: fc.nat() }),
);

/** An entry of every kind the log holds, with or without a stamp, its data of any length (UTF-16 included). */
function entryAt(index: number, term: number, seed: number): Entry {
  const kinds = ['normal', 'noop', 'config', 'session'] as const;
  const kind = kinds[(seed + index) % 4]!;
  const data = kind === 'normal' || kind === 'config' ? `op ${index}/${term} ${'é€'.repeat((seed + index) % 5)}`.slice(0, (seed * 7 + index) % 30) : '';
  if (kind === 'normal' && (seed + index) % 3 !== 0) return { index, term, kind, data, stamp: { session: seed % 9, seq: index, lowestOutstanding: index - 1 } };
  return { index, term, kind, data };
}

describe('RaftLog: applied entries kept in an archive answer as objects did', () => {
  it('holds the same terms and entries as a plain list after any appends, merges, commits, applies, compactions and restores', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 150, size: 'max' }), (steps) => {
        const log = new RaftLog([], 0);
        const plain = new PlainLog();
        let term = 1;
        for (const s of steps) {
          const last = plain.lastIndex();
          if (s.op === 'append') {
            term += s.termUp;
            const entries = Array.from({ length: s.count }, (_, i) => entryAt(last + 1 + i, term, s.seed));
            log.append(entries);
            plain.entries.push(...entries);
          } else if (s.op === 'merge') {
            // From a matching point at or after the commit index: a leader's entries, the same up to
            // `conflictAt` and of a later term from there (§5.3).
            const prev = plain.committed + (s.from % (last - plain.committed + 1));
            term++;
            const entries = Array.from({ length: s.count }, (_, i): Entry => {
              const index = prev + 1 + i;
              const held = plain.term(index) !== undefined && index > plain.prevIndex ? plain.entries[index - plain.prevIndex - 1] : undefined;
              return held !== undefined && i < s.conflictAt ? held : entryAt(index, term, s.seed);
            });
            log.merge(prev, entries);
            const conflict = entries.find((e) => plain.term(e.index) !== e.term);
            if (conflict !== undefined)
              plain.entries = [...plain.entries.slice(0, conflict.index - plain.prevIndex - 1), ...entries.slice(conflict.index - prev - 1)];
          } else if (s.op === 'commit') {
            const to = plain.committed + (s.at % (last - plain.committed + 1));
            log.stableTo(last, plain.term(last)!);
            log.commitTo(to);
            plain.committed = Math.max(plain.committed, to);
          } else if (s.op === 'apply') {
            const to = plain.applied + (s.at % (plain.committed - plain.applied + 1));
            log.appliedTo(to);
            plain.applied = to;
          } else if (s.op === 'compact') {
            const to = plain.prevIndex + (s.at % (plain.applied - plain.prevIndex + 1));
            if (to > plain.prevIndex) {
              plain.prevTerm = plain.term(to)!;
              plain.entries = plain.entries.slice(to - plain.prevIndex);
              plain.prevIndex = to;
            }
            log.compactTo(to);
          } else {
            // A snapshot from the leader beyond everything held.
            const index = last + 1 + (s.at % 5);
            log.restore({ index, term });
            log.snapshotApplied(index);
            Object.assign(plain, { entries: [], prevIndex: index, prevTerm: term, committed: index, applied: index });
          }
          expect([log.firstIndex(), log.lastIndex(), log.committed, log.applied]).to.deep.equal([
            plain.prevIndex + 1,
            plain.lastIndex(),
            plain.committed,
            plain.applied,
          ]);
          for (let i = plain.prevIndex - 1; i <= plain.lastIndex() + 1; i++) expect(log.term(i), `term(${i})`).to.equal(plain.term(i));
          expect(log.slice(0, Infinity)).to.deep.equal(plain.entries);
          for (let lo = plain.prevIndex; lo <= plain.lastIndex() + 1; lo += 3) {
            expect(log.slice(lo, lo + 4), `slice(${lo}, ${lo + 4})`).to.deep.equal(plain.slice(lo, lo + 4));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('EntryArchive: applied entries as numbers and strings', () => {
  it('splits what is applied together into batches of bounded text, an entry longer than the bound in one of its own', () => {
    const archive = new EntryArchive(10);
    const entries: Entry[] = [4, 4, 4, 25, 0, 1].map((length, i) => ({
      index: 11 + i,
      term: 3,
      kind: 'normal',
      data: String.fromCharCode(97 + i).repeat(length),
      stamp: { session: 1, seq: i + 1, lowestOutstanding: 1 },
    }));
    archive.add(entries);
    expect(archive.slice(11, 16)).to.deep.equal(entries);
    const batches = (archive as unknown as { batches: { text: string }[] }).batches;
    expect(batches.map((b) => b.text.length)).to.deep.equal([8, 4, 25, 1]);
    archive.dropThrough(13);
    expect([archive.term(13), archive.term(14)]).to.deep.equal([undefined, 3]);
    expect(archive.slice(14, 16)).to.deep.equal(entries.slice(3));
  });
});
