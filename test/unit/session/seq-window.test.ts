import { expect } from 'chai';
import fc from 'fast-check';
import { SeqWindow } from '../../../src/session/seq-window.ts';

type Step = { readonly op: 'set' | 'delete' | 'deleteBelow' | 'clear'; readonly key: KeyChoice; readonly value: number };

/**
 * Keys the way the window's users make them, relative to a counter that moves up as the run goes:
 * mostly the next number, sometimes one near it, one ahead that the ring may grow to reach, or one
 * far off.
 */
type KeyChoice = { readonly kind: 'next' } | { readonly kind: 'near' | 'ahead'; readonly by: number } | { readonly kind: 'far'; readonly key: number };

const keyChoice: fc.Arbitrary<KeyChoice> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'next' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('near' as const), by: fc.integer({ min: -40, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ahead' as const), by: fc.integer({ min: 40, max: 600 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('far' as const), key: fc.constantFrom(0, 2 ** 31 - 1, 2 ** 32, 2 ** 47, 2 ** 53 + 2) }) },
);

const stepArb: fc.Arbitrary<Step> = fc.record({
  op: fc.oneof(
    { weight: 10, arbitrary: fc.constant('set' as const) },
    { weight: 6, arbitrary: fc.constant('delete' as const) },
    { weight: 2, arbitrary: fc.constant('deleteBelow' as const) },
    { weight: 1, arbitrary: fc.constant('clear' as const) },
  ),
  key: keyChoice,
  value: fc.integer(),
});

describe('SeqWindow: a ring of slots that answers as a Map would', () => {
  it('agrees with a Map on every read after any sequence of writes', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 50, maxLength: 400, size: 'max' }), (steps) => {
        const window = new SeqWindow<number>();
        const model = new Map<number, number>();
        let counter = 100;
        for (const step of steps) {
          const choice = step.key;
          const key = choice.kind === 'next' ? counter++ : choice.kind === 'far' ? choice.key : Math.max(0, counter + choice.by);
          if (step.op === 'set') {
            window.set(key, step.value);
            model.set(key, step.value);
          } else if (step.op === 'delete') {
            expect(window.delete(key), `delete(${key})`).to.equal(model.delete(key));
          } else if (step.op === 'deleteBelow') {
            window.deleteBelow(key);
            for (const held of [...model.keys()]) if (held < key) model.delete(held);
          } else {
            window.clear();
            model.clear();
          }
          const sorted = [...model].sort((a, b) => a[0] - b[0]);
          expect(window.size).to.equal(model.size);
          expect(window.entries()).to.deep.equal(sorted);
          expect(window.firstKey()).to.equal(sorted[0]?.[0]);
          for (const [held, value] of sorted) expect(window.get(held)).to.equal(value);
          if (step.op !== 'clear') expect(window.has(key)).to.equal(model.has(key));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('holds thousands of numbers that come and go in order without a Map', () => {
    const window = new SeqWindow<string>();
    for (let seq = 1; seq <= 100_000; seq++) {
      window.set(seq, `op ${seq}`);
      if (seq > 1024) window.delete(seq - 1024);
    }
    expect(window.size).to.equal(1024);
    expect(window.firstKey()).to.equal(100_000 - 1023);
    expect(window.get(100_000)).to.equal('op 100000');
    expect(window.get(100_000 - 1024)).to.equal(undefined);
    // Nothing went to the side table: the ring took every key.
    expect((window as unknown as { strays: Map<number, string> | null }).strays).to.equal(null);
  });

  it('sets aside one number that waits long while thousands pass, not the thousands', () => {
    const window = new SeqWindow<string>();
    window.set(1, 'slow');
    for (let seq = 2; seq <= 100_000; seq++) {
      window.set(seq, `op ${seq}`);
      if (seq > 1025) window.delete(seq - 1024);
    }
    expect(window.firstKey()).to.equal(1);
    expect(window.get(1)).to.equal('slow');
    expect(window.size).to.equal(1025);
    expect((window as unknown as { strays: Map<number, string> | null }).strays?.size, 'only the slow one is aside').to.equal(1);
  });

  it('keeps a key far from the rest aside instead of growing the ring to reach it', () => {
    const window = new SeqWindow<string>();
    window.set(5, 'near');
    window.set(2 ** 40, 'far');
    expect(window.get(2 ** 40)).to.equal('far');
    expect((window as unknown as { slots: unknown[] }).slots.length).to.be.at.most(16);
    expect(window.entries()).to.deep.equal([
      [5, 'near'],
      [2 ** 40, 'far'],
    ]);
  });
});
