import { expect } from 'chai';
import fc from 'fast-check';
import superjson from 'superjson';
import { jsonSerializer, superjsonSerializer } from '../../src/serializer.ts';

describe('serializer', () => {
  it('superjson round-trips Map, Set, Date, BigInt and nesting', () => {
    const s = superjsonSerializer<unknown>();
    const op = { m: new Map([['a', new Set([1, 2])]]), d: new Date(1_700_000_000_000), n: 2n ** 70n, nested: [{ u: undefined }] };
    expect(s.fromString(s.toString(op))).to.deep.equal(op);
  });

  it('superjson: a value that holds itself, or holds its own root twice, is written as superjson writes it', () => {
    const s = superjsonSerializer<unknown>();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const root: unknown[] = [];
    root.push([root]);
    for (const value of [cyclic, root, { x: [cyclic] }]) expect(s.toString(value)).to.equal(superjson.stringify(value));
  });

  it('refuses text that is not a serialized operation, quoting the start of it', () => {
    for (const s of [superjsonSerializer<unknown>(), jsonSerializer<unknown>()]) {
      expect(() => s.fromString('{not json')).to.throw(/could not deserialize the operation "\{not json"/);
    }
  });

  it('superjson: writes exactly what superjson writes, for any value, plain JSON or not, and reads it back alike', () => {
    const s = superjsonSerializer<unknown>();
    const shared = { a: 1 };
    const special = fc.constantFrom<unknown>(
      undefined,
      -0,
      NaN,
      Infinity,
      new Date(0),
      new Map([['k', 1]]),
      new Set([1]),
      10n,
      /re/g,
      // eslint-disable-next-line no-sparse-arrays -- a hole, which superjson writes as null
      [1, , 3],
      Object.create(null) as object,
      { shared, again: shared },
      { toJSON: () => 'x' },
      new (class Point {
        x = 1;
      })(),
    );
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), special),
      tree: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('tree'), { maxKeys: 4 })),
    })).tree;
    fc.assert(
      fc.property(value, (v) => {
        let expected: string | Error;
        try {
          expected = superjson.stringify(v);
        } catch (error) {
          expected = error as Error;
        }
        if (expected instanceof Error) {
          expect(() => s.toString(v)).to.throw(expected.message);
          return;
        }
        const text = s.toString(v);
        expect(text).to.equal(expected);
        expect(s.fromString(text)).to.deep.equal(superjson.parse(text));
      }),
      { numRuns: Number(process.env['GRAFT_FUZZ_RUNS'] ?? 2000) },
    );
  });

  it('superjson: once a custom transformer is registered, superjson writes everything, plain values too', () => {
    const s = superjsonSerializer<unknown>();
    // A transformer that claims some plain strings: the direct path must not bypass it.
    superjson.registerCustom<string, string>(
      { isApplicable: (v): v is string => typeof v === 'string' && v.startsWith('hex:'), serialize: (v) => v.slice(4), deserialize: (v) => `hex:${v}` },
      'graft-test-hex',
    );
    try {
      const text = s.toString({ id: 'hex:ff' });
      expect(text).to.equal(superjson.stringify({ id: 'hex:ff' }));
      expect(text).to.include('graft-test-hex');
      expect(s.fromString(text)).to.deep.equal({ id: 'hex:ff' });
    } finally {
      const registry = (superjson as unknown as { defaultInstance: { customTransformerRegistry: { transfomers: Record<string, unknown> } } }).defaultInstance
        .customTransformerRegistry.transfomers;
      delete registry['graft-test-hex'];
    }
    expect(s.toString({ id: 'hex:ff' })).to.equal('{"json":{"id":"hex:ff"}}');
  });

  it('superjson: a value too deep for the plain-JSON path is left to superjson', () => {
    const s = superjsonSerializer<unknown>();
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    expect(s.toString(deep)).to.equal(superjson.stringify(deep));
  });
});
