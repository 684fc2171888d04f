import { expect } from 'chai';
import type { Entry } from '../../../src/core/types.ts';
import { decodeLegacyCommand, isLegacyCommand } from '../../../src/session/legacy-command.ts';
import { LEGACY_OPEN_SESSION, legacyOperation } from '../../helpers/legacy-log.ts';

describe('session: entries of logs written before session fields were typed', () => {
  it('reads the old header as the command it stood for, keeping the operation text as it is', () => {
    const op = '{"json":{"kind":"set","key":"a:b","value":"1:2:3"}}';
    expect(decodeLegacyCommand(legacyOperation(12, 7, 5, op))).to.deep.equal({
      kind: 'normal',
      data: op,
      stamp: { session: 12, seq: 7, lowestOutstanding: 5 },
    });
    expect(decodeLegacyCommand(LEGACY_OPEN_SESSION)).to.deep.equal({ kind: 'session' });
  });

  it('reads the old form only from an unstamped normal entry whose data starts with the mark', () => {
    const entry = (fields: Partial<Entry>): Entry => ({ index: 1, term: 1, kind: 'normal', data: LEGACY_OPEN_SESSION, ...fields });
    expect(isLegacyCommand(entry({}))).to.equal(true);
    expect(isLegacyCommand(entry({ data: legacyOperation(1, 1, 1, '{}') }))).to.equal(true);
    expect(isLegacyCommand(entry({ data: '{"kind":"set"}' })), 'an operation written before sessions existed').to.equal(false);
    expect(isLegacyCommand(entry({ data: '' }))).to.equal(false);
    expect(isLegacyCommand(entry({ stamp: { session: 1, seq: 1, lowestOutstanding: 1 } })), 'a stamped entry').to.equal(false);
    expect(isLegacyCommand(entry({ kind: 'noop' }))).to.equal(false);
  });

  it('refuses a malformed header, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['\u0001op:x:1:1:{}', /malformed session/],
      ['\u0001op:1:0:1:{}', /malformed seq/],
      ['\u0001op:1:1:{}', /malformed lowestOutstanding/],
      ['\u0001op:1: 2:1:{}', /malformed seq/],
      ['\u0001op:01:1:1:{}', /malformed session/],
      ['\u0001op:99999999999999999:1:1:{}', /malformed session/],
      ['\u0001close', /unknown command header/],
    ];
    for (const [data, error] of cases) expect(() => decodeLegacyCommand(data), JSON.stringify(data)).to.throw(error);
  });
});
