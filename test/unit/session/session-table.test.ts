import { expect } from 'chai';
import fc from 'fast-check';
import { SessionTable, type Outcome, type SessionTableState, type Verdict } from '../../../src/session/session-table.ts';

const done = (value: unknown): Outcome => ({ ok: true, value });

describe('session: the replicated session table (thesis §6.3)', () => {
  it('applies an operation once and answers its copies with the stored outcome', () => {
    const table = new SessionTable(10);
    table.open(4);
    expect(table.verdict(4, 1, 1)).to.deep.equal({ kind: 'apply' });
    table.record(4, 1, done('first'));
    expect(table.verdict(4, 1, 1)).to.deep.equal({ kind: 'duplicate', outcome: done('first') });
  });

  it('applies operations that commit out of order, each once', () => {
    const table = new SessionTable(10);
    table.open(1);
    for (const seq of [2, 1, 3]) {
      expect(table.verdict(1, seq, 1).kind, `seq ${seq}`).to.equal('apply');
      table.record(1, seq, done(seq));
    }
    for (const seq of [3, 1, 2]) expect(table.verdict(1, seq, 1)).to.deep.equal({ kind: 'duplicate', outcome: done(seq) });
  });

  it("drops outcomes below the client's lowest outstanding number; a late copy of those is stale, never applied", () => {
    const table = new SessionTable(10);
    table.open(1);
    table.verdict(1, 1, 1);
    table.record(1, 1, done(1));
    // Operation 2 was abandoned by its client before any copy committed; 3 says so.
    expect(table.verdict(1, 3, 3).kind).to.equal('apply');
    table.record(1, 3, done(3));
    expect(table.verdict(1, 1, 1)).to.deep.equal({ kind: 'stale' });
    expect(table.verdict(1, 2, 2)).to.deep.equal({ kind: 'stale' });
    expect(table.verdict(1, 3, 1)).to.deep.equal({ kind: 'duplicate', outcome: done(3) });
  });

  it('a session never opened, or expired, is refused', () => {
    const table = new SessionTable(2);
    expect(table.verdict(9, 1, 1)).to.deep.equal({ kind: 'expired' });
    table.open(1);
    table.open(2);
    table.verdict(1, 1, 1); // session 1 is now the most recently used
    table.open(3);
    expect([table.has(1), table.has(2), table.has(3)], 'the least recently used expired').to.deep.equal([true, false, true]);
    expect(table.verdict(2, 1, 1)).to.deep.equal({ kind: 'expired' });
  });

  it('two tables fed the same log decide alike', () => {
    const feed = (table: SessionTable): string[] => {
      const verdicts: string[] = [];
      for (let index = 1; index <= 200; index++) {
        if (index % 7 === 1) table.open(index);
        const session = 1 + 7 * ((index * 13) % 5);
        const seq = 1 + ((index * 31) % 9);
        const verdict = table.verdict(session, seq, Math.max(1, seq - 2));
        if (verdict.kind === 'apply') table.record(session, seq, done(index));
        verdicts.push(verdict.kind);
      }
      return verdicts;
    };
    const a = feed(new SessionTable(3));
    expect(a).to.deep.equal(feed(new SessionTable(3)));
    expect(new Set(a)).to.have.all.keys('apply', 'duplicate', 'stale', 'expired');
  });

  it('decides as the plain rule does (every outcome visited, every use moved last), whatever the order of numbers', () => {
    const step = fc.oneof(
      fc.record({ open: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ session: fc.integer({ min: 1, max: 6 }), seq: fc.integer({ min: 1, max: 40 }), back: fc.integer({ min: 0, max: 8 }) }),
      fc.constant('snapshot' as const),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 200, size: 'max' }), (steps) => {
        let table = new SessionTable(4);
        const model = new PlainSessionTable(4);
        for (const s of steps) {
          if (s === 'snapshot') {
            const restored = new SessionTable(4);
            restored.import(table.export());
            table = restored;
          } else if ('open' in s) {
            table.open(s.open);
            model.open(s.open);
          } else {
            const lowest = Math.max(1, s.seq - s.back);
            const verdict = table.verdict(s.session, s.seq, lowest);
            expect(verdict).to.deep.equal(model.verdict(s.session, s.seq, lowest));
            if (verdict.kind === 'apply') {
              table.record(s.session, s.seq, done(s.seq));
              model.record(s.session, s.seq, done(s.seq));
            }
          }
          expect(table.export()).to.deep.equal(model.export());
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** The table's rule at its plainest, to check the fast one against. */
class PlainSessionTable {
  private readonly sessions = new Map<number, { floor: number; outcomes: Map<number, Outcome> }>();

  constructor(private readonly capacity: number) {}

  open(index: number): void {
    this.sessions.set(index, { floor: 1, outcomes: new Map() });
    if (this.sessions.size > this.capacity) this.sessions.delete(this.sessions.keys().next().value!);
  }

  verdict(session: number, seq: number, lowestOutstanding: number): Verdict {
    const state = this.sessions.get(session);
    if (state === undefined) return { kind: 'expired' };
    this.sessions.delete(session);
    this.sessions.set(session, state);
    if (lowestOutstanding > state.floor) {
      state.floor = lowestOutstanding;
      for (const done of state.outcomes.keys()) if (done < lowestOutstanding) state.outcomes.delete(done);
    }
    const stored = state.outcomes.get(seq);
    if (stored !== undefined) return { kind: 'duplicate', outcome: stored };
    return seq < state.floor ? { kind: 'stale' } : { kind: 'apply' };
  }

  record(session: number, seq: number, outcome: Outcome): void {
    this.sessions.get(session)?.outcomes.set(seq, outcome);
  }

  export(): SessionTableState {
    // Outcomes in ascending order of number, as the table exports them.
    return [...this.sessions].map(([session, state]) => ({ session, floor: state.floor, outcomes: [...state.outcomes].sort((a, b) => a[0] - b[0]) }));
  }
}
