import { expect } from 'chai';
import type { LogPosition } from '../../../src/core/raft.ts';
import type { GraftError } from '../../../src/errors.ts';
import { encodeOpenSession, encodeOperation } from '../../../src/session/command.ts';
import { ALREADY_APPLIED, LeaderCopies } from '../../../src/session/leader-copies.ts';
import { SessionTable } from '../../../src/session/session-table.ts';

/** A leader's log as LeaderCopies sees it: appends land at the next index, in the current term. */
function leader(): { copies: LeaderCopies; table: SessionTable; log: string[]; setTerm: (t: number) => void } {
  const log: string[] = [];
  let term = 1;
  const table = new SessionTable(10);
  table.open(1);
  const append = async (ops: readonly string[]): Promise<LogPosition[]> => ops.map((op) => ({ index: log.push(op), term }));
  return { copies: new LeaderCopies(table, append, () => term), table, log, setTerm: (t) => (term = t) };
}

describe('session: the leader drops copies before they reach the log', () => {
  it("answers a copy of an operation appended in this term with the first copy's position", async () => {
    const { copies, log } = leader();
    const op = encodeOperation(1, 1, 1, '"a"');
    const [first] = await copies.propose([op]);
    expect(await copies.propose([op, encodeOperation(1, 2, 1, '"b"')])).to.deep.equal([first, { index: 2, term: 1 }]);
    expect(log).to.have.length(2);
  });

  it('answers a copy of an operation already applied with ALREADY_APPLIED, appending nothing', async () => {
    const { copies, table, log } = leader();
    const op = encodeOperation(1, 1, 1, '"a"');
    await copies.propose([op]);
    table.verdict(1, 1, 1);
    table.record(1, 1, { ok: true, value: 'A' });
    copies.applied(1, 1);
    expect(await copies.propose([op])).to.deep.equal([ALREADY_APPLIED]);
    expect(log).to.have.length(1);
  });

  it('appends again what an earlier leadership appended and did not apply (it may have been overwritten)', async () => {
    const { copies, log, setTerm } = leader();
    const op = encodeOperation(1, 1, 1, '"a"');
    await copies.propose([op]);
    setTerm(2);
    expect(await copies.propose([op])).to.deep.equal([{ index: 2, term: 2 }]);
    expect(log).to.have.length(2);
  });

  it('always appends what is not an operation of a session, and refuses a malformed header', async () => {
    const { copies, log } = leader();
    await copies.propose([encodeOpenSession(), encodeOpenSession(), '"plain"', '"plain"']);
    expect(log).to.have.length(4);
    const refused = await copies.propose(['\u0001op:x:1:1:{}']).then(
      () => null,
      (e: GraftError) => `${e.code}: ${e.message}`,
    );
    expect(refused).to.match(/^PROTOCOL: refused an operation: malformed session/);
  });
});
