import { expect } from 'chai';
import { decodeCommand, encodeOpenSession, encodeOperation } from '../../../src/session/command.ts';

describe('session: the command carried by a log entry', () => {
  it('round-trips an operation with its session header, keeping the operation text as it is', () => {
    const op = '{"json":{"kind":"set","key":"a:b","value":"1:2:3"}}';
    expect(decodeCommand(encodeOperation(12, 7, 5, op))).to.deep.equal({ kind: 'operation', session: 12, seq: 7, lowestOutstanding: 5, op });
    expect(decodeCommand(encodeOpenSession())).to.deep.equal({ kind: 'open-session' });
  });

  it('reads an entry written before sessions existed as a plain operation', () => {
    expect(decodeCommand('{"kind":"set"}')).to.deep.equal({ kind: 'plain', op: '{"kind":"set"}' });
    expect(decodeCommand('')).to.deep.equal({ kind: 'plain', op: '' });
  });

  it('refuses a malformed header, naming the field', () => {
    const cases: [string, RegExp][] = [
      ['\u0001op:x:1:1:{}', /malformed session/],
      ['\u0001op:1:0:1:{}', /malformed seq/],
      ['\u0001op:1:1:{}', /malformed lowestOutstanding/],
      ['\u0001op:1: 2:1:{}', /malformed seq/],
      ['\u0001op:99999999999999999:1:1:{}', /malformed session/],
      ['\u0001close', /unknown command header/],
    ];
    for (const [data, error] of cases) expect(() => decodeCommand(data), JSON.stringify(data)).to.throw(error);
  });
});
