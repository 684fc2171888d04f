import { expect } from 'chai';
import { checkKvHistory, isLinearizable, registerModel, type KvInput, type KvOutput, type Operation } from './checker.ts';

type Op = Operation<KvInput, KvOutput>;
const K = 'k';
const set = (client: number, value: unknown, call: number, ret: number): Op => ({
  client,
  input: { kind: 'set', key: K, value },
  output: { done: true },
  call,
  return: ret,
});
const del = (client: number, call: number, ret: number): Op => ({ client, input: { kind: 'delete', key: K }, output: { done: true }, call, return: ret });
const get = (client: number, value: unknown, call: number, ret: number): Op => ({
  client,
  input: { kind: 'get', key: K },
  output: { value },
  call,
  return: ret,
});
const cas = (client: number, expected: unknown, value: unknown, ok: boolean, call: number, ret: number): Op => ({
  client,
  input: { kind: 'cas', key: K, expected, value },
  output: { ok },
  call,
  return: ret,
});
/** An operation whose caller never learned the outcome. */
const unknown = (op: Op): Op => ({ ...op, output: undefined, return: Infinity });

const linearizable = (ops: Op[]) => checkKvHistory(ops) === null;

describe('linearizability checker', () => {
  it('accepts sequential histories that follow the register, and rejects ones that do not', () => {
    expect(linearizable([set(1, 1, 0, 1), get(2, 1, 2, 3)])).to.equal(true);
    expect(linearizable([get(1, undefined, 0, 1), set(1, 'a', 2, 3), del(1, 4, 5), get(2, undefined, 6, 7)])).to.equal(true);
    expect(linearizable([set(1, 1, 0, 1), get(2, 2, 2, 3)])).to.equal(false);
    expect(linearizable([set(1, 1, 0, 1), del(1, 2, 3), get(2, 1, 4, 5)])).to.equal(false);
  });

  it('a read concurrent with a write may see either value, but nothing else', () => {
    expect(linearizable([set(1, 1, 0, 10), get(2, 1, 2, 3)])).to.equal(true);
    expect(linearizable([set(1, 1, 0, 10), get(2, undefined, 2, 3)])).to.equal(true);
    expect(linearizable([set(1, 1, 0, 10), get(2, 7, 2, 3)])).to.equal(false);
  });

  it('rejects a stale read: once a newer write completed, the old value may not come back', () => {
    expect(linearizable([set(1, 1, 0, 1), set(1, 2, 2, 3), get(2, 1, 4, 5)])).to.equal(false);
    // A read that saw the new value, followed by a read that sees the old one (§ "new-old inversion").
    expect(linearizable([set(1, 1, 0, 1), set(1, 2, 2, 20), get(2, 2, 3, 4), get(3, 1, 5, 6)])).to.equal(false);
    expect(linearizable([set(1, 1, 0, 1), set(1, 2, 2, 20), get(2, 1, 3, 4), get(3, 2, 5, 6)])).to.equal(true);
  });

  it('compare-and-set: two concurrent swaps from the same value cannot both succeed', () => {
    expect(linearizable([cas(1, null, 1, true, 0, 5), cas(2, null, 2, true, 1, 6)])).to.equal(false);
    expect(linearizable([cas(1, null, 1, true, 0, 5), cas(2, null, 2, false, 1, 6), get(3, 1, 7, 8)])).to.equal(true);
    expect(linearizable([cas(1, null, 1, true, 0, 5), cas(2, null, 2, false, 1, 6), get(3, 2, 7, 8)])).to.equal(false);
    expect(linearizable([set(1, 3, 0, 1), cas(2, 3, 4, true, 2, 3), cas(2, 3, 5, false, 4, 5), get(1, 4, 6, 7)])).to.equal(true);
  });

  it('an operation with an unknown outcome may take effect at any time after its call, or never', () => {
    const lostWrite = unknown(set(1, 2, 5, 6));
    expect(linearizable([set(1, 1, 0, 1), lostWrite, get(2, 2, 100, 101)])).to.equal(true);
    expect(linearizable([set(1, 1, 0, 1), lostWrite, get(2, 1, 100, 101)])).to.equal(true);
    // But once seen, it stays: it cannot take effect and then be undone.
    expect(linearizable([set(1, 1, 0, 1), lostWrite, get(2, 2, 10, 11), get(3, 1, 12, 13)])).to.equal(false);
    // And it cannot take effect before it was called.
    expect(linearizable([set(1, 1, 0, 1), get(2, 2, 2, 3), unknown(set(3, 2, 4, 5))])).to.equal(false);
    // An unknown cas takes effect only if its expectation held at that moment.
    expect(linearizable([set(1, 1, 0, 1), unknown(cas(2, 9, 5, true, 2, 3)), get(1, 5, 10, 11)])).to.equal(false);
    expect(linearizable([set(1, 9, 0, 1), unknown(cas(2, 9, 5, true, 2, 3)), get(1, 5, 10, 11)])).to.equal(true);
    // One that would fail where it was called may still swap later, once its expectation holds.
    expect(linearizable([set(1, 1, 0, 1), unknown(cas(2, 9, 5, true, 2, 3)), set(1, 9, 4, 5), get(1, 5, 10, 11)])).to.equal(true);
    expect(linearizable([set(1, 1, 0, 1), unknown(cas(2, 9, 5, true, 2, 3)), set(1, 9, 4, 5), get(1, 7, 10, 11)])).to.equal(false);
  });

  it('operations with unknown outcomes that could each be a no-op do not multiply the search', () => {
    // Thirty timed-out compare-and-sets whose expectation never holds, then rounds of two
    // concurrent writes whose order only the read after them settles, so the search backtracks
    // over every round. Placing each no-op or not gave 2^30 placed sets with the same state.
    const ops: Op[] = [set(1, 0, 0, 1)];
    for (let i = 0; i < 30; i++) ops.push(unknown(cas(2, 'never', i, true, 2 + i, 3 + i)));
    for (let round = 0; round < 50; round++) {
      const t = 100 + round * 10;
      ops.push(set(3, `a${round}`, t, t + 5), set(4, `b${round}`, t + 1, t + 5), get(5, `a${round}`, t + 6, t + 7));
    }
    expect(isLinearizable(registerModel, ops, 100_000)).to.equal(true);
    ops.push(get(5, 'b0', 700, 701));
    expect(isLinearizable(registerModel, ops, 100_000)).to.equal(false);
  });

  it('gives up with an error, not a wrong answer or the whole heap, when a history is too ambiguous', () => {
    // Unknown writes of distinct values, any subset of which may have taken effect, in any order:
    // then a read of a value nobody wrote makes the search try them all.
    const ops: Op[] = [];
    for (let i = 0; i < 16; i++) ops.push(unknown(set(i, i, i, i + 1)));
    ops.push(get(99, 'nobody wrote this', 100, 101));
    expect(() => isLinearizable(registerModel, ops, 10_000)).to.throw(/17 operations too ambiguous to check: more than 10000 states/);
  });

  it('checks keys independently and names the key that fails', () => {
    const other = (op: Op): Op => ({ ...op, input: { ...op.input, key: 'other' } as KvInput });
    expect(checkKvHistory([set(1, 1, 0, 1), other(get(2, 1, 2, 3))])).to.equal('other');
    expect(checkKvHistory([set(1, 1, 0, 1), other(set(2, 5, 0, 1)), get(1, 1, 2, 3), other(get(2, 5, 2, 3))])).to.equal(null);
  });

  it('decides long concurrent histories, both ways (memoisation keeps the search small)', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 200; i++) {
      // Four clients, overlapping operations; reads see the write of their own round.
      ops.push(set(1, i, i * 10, i * 10 + 6), get(2, i, i * 10 + 5, i * 10 + 9), get(3, i === 0 ? undefined : i - 1, i * 10 + 1, i * 10 + 3));
    }
    expect(linearizable(ops)).to.equal(true);
    // One read near the end that sees a value overwritten long before.
    ops.push(get(4, 3, 1990, 1991));
    expect(linearizable(ops)).to.equal(false);
  });
});
