import { expect } from 'chai';
import { jsonSerializer, superjsonSerializer } from '../../src/serializer.ts';

describe('serializer', () => {
  it('superjson round-trips Map, Set, Date, BigInt and nesting', () => {
    const s = superjsonSerializer<unknown>();
    const op = { m: new Map([['a', new Set([1, 2])]]), d: new Date(1_700_000_000_000), n: 2n ** 70n, nested: [{ u: undefined }] };
    expect(s.fromString(s.toString(op))).to.deep.equal(op);
  });

  it('refuses text that is not a serialized operation, quoting the start of it', () => {
    for (const s of [superjsonSerializer<unknown>(), jsonSerializer<unknown>()]) {
      expect(() => s.fromString('{not json')).to.throw(/could not deserialize the operation "\{not json"/);
    }
  });
});
