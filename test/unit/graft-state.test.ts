import { expect } from 'chai';
import fc from 'fast-check';
import superjson from 'superjson';
import { GraftError } from '../../src/errors.ts';
import { decodeGraftState, encodeGraftState, type GraftState } from '../../src/runtime/graft-state.ts';
import type { Outcome } from '../../src/session/session-table.ts';

const value = fc.oneof(
  fc.constant(undefined),
  fc.string(),
  fc.integer(),
  fc.constant(null),
  fc.constant(new Date(1_700_000_000_000)),
  fc.constant(new Map<string, unknown>([['k', new Set([1n])]])),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)), { maxKeys: 3 }),
);
const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  value.map((v): Outcome => ({ ok: true, value: v })),
  fc.string().map((message): Outcome => ({ ok: false, error: new GraftError('APPLY_FAILED', message) })),
);
const state: fc.Arbitrary<GraftState> = fc.record({
  sessions: fc.array(
    fc.record({
      session: fc.nat(),
      floor: fc.nat(),
      outcomes: fc.array(
        fc.tuple(fc.nat(), outcome).map(([seq, o]) => [seq, o] as const),
        { maxLength: 5 },
      ),
    }),
    { maxLength: 4 },
  ),
  terms: fc.record({
    applied: fc.nat(),
    runs: fc.array(
      fc.tuple(fc.nat(), fc.nat()).map(([i, t]) => [i, t] as const),
      { maxLength: 4 },
    ),
  }),
});

/** What a restore must give back: errors compared by class, code and message. */
function comparable(s: GraftState): unknown {
  const outcome = (o: Outcome): unknown => (o.ok ? o : { ok: false, error: [o.error.constructor.name, (o.error as GraftError).code, o.error.message] });
  return { terms: s.terms, sessions: s.sessions.map((x) => ({ ...x, outcomes: x.outcomes.map(([seq, o]) => [seq, outcome(o)]) })) };
}

/** What the previous release wrote (format 1): the whole state through superjson, each error as {message}. */
function format1(s: GraftState): string {
  const sessions = s.sessions.map((x) => ({
    ...x,
    outcomes: x.outcomes.map(([seq, o]) => [seq, o.ok ? o : { ok: false, error: { message: o.error.message } }]),
  }));
  return superjson.stringify({ sessions, terms: s.terms });
}

function damage(text: string, format: 1 | 2 = 2): string {
  try {
    decodeGraftState(text, format);
  } catch (error) {
    expect(error).to.be.instanceOf(GraftError);
    expect((error as GraftError).code).to.equal('STORAGE_CORRUPT');
    return (error as Error).message;
  }
  throw new Error(`${text} was read without complaint`);
}

describe("a snapshot's Graft state (graft-state.ts)", () => {
  it('reads back what it wrote: values superjson keeps (Date, Map, BigInt, undefined), and failures as APPLY_FAILED', () => {
    fc.assert(
      fc.property(state, (s) => {
        expect(comparable(decodeGraftState(encodeGraftState(s), 2))).to.deep.equal(comparable(s));
      }),
    );
  });

  it('still reads format 1, what superjson made of the whole state, to the same state', () => {
    fc.assert(
      fc.property(state, (s) => {
        expect(comparable(decodeGraftState(format1(s), 1))).to.deep.equal(comparable(s));
      }),
    );
  });

  it('an outcome of undefined, the usual one, costs its number only', () => {
    const text = encodeGraftState({
      sessions: [{ session: 7, floor: 3, outcomes: [[3, { ok: true, value: undefined }]] }],
      terms: { applied: 9, runs: [[1, 1]] },
    });
    expect(JSON.parse(text)).to.deep.equal({ terms: { applied: 9, runs: [[1, 1]] }, sessions: [[7, 3, [[3]]]] });
  });

  it('a damaged state is STORAGE_CORRUPT, naming the part that is wrong', () => {
    const terms = { applied: 1, runs: [] };
    const with_ = (sessions: unknown, t: unknown = terms): string => JSON.stringify({ terms: t, sessions });
    expect(damage('{"terms":')).to.match(/Graft state is damaged: it is not JSON/);
    expect(damage('[]')).to.match(/the state is not an object/);
    expect(damage(with_({}))).to.match(/sessions is not a list/);
    expect(damage(with_([[1, -1, []]]))).to.match(/sessions\[0\] \(its floor\) is not a whole number/);
    expect(damage(with_([[1, 1, [[2, 5]]]]))).to.match(/sessions\[0\] outcome 0 is neither/);
    expect(damage(with_([[1, 1, [[2.5]]]]))).to.match(/sessions\[0\] outcome 0 \(its number\) is not a whole number/);
    expect(damage(with_([], { applied: '1', runs: [] }))).to.match(/terms.applied is not a whole number/);
    expect(damage(with_([], { applied: 1, runs: [[1]] }))).to.match(/terms.runs\[0\] \(its term\) is not a whole number/);
    expect(damage(superjson.stringify({ sessions: [{ session: 1, floor: 'x', outcomes: [] }], terms }), 1)).to.match(/sessions\[0\].floor/);
  });
});
