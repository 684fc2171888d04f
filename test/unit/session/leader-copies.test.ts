import { expect } from 'chai';
import type { LogPosition } from '../../../src/core/raft.ts';
import type { Command } from '../../../src/core/types.ts';
import { ALREADY_APPLIED, LeaderCopies } from '../../../src/session/leader-copies.ts';
import { SessionTable } from '../../../src/session/session-table.ts';

/** A leader's log as LeaderCopies sees it: appends land at the next index, in the current term. */
function leader(): { copies: LeaderCopies; table: SessionTable; log: Command[]; setTerm: (t: number) => void } {
  const log: Command[] = [];
  let term = 1;
  const table = new SessionTable(10);
  table.open(1);
  const append = async (commands: readonly Command[]): Promise<LogPosition[]> => commands.map((c) => ({ index: log.push(c), term }));
  return { copies: new LeaderCopies(table, append, () => term), table, log, setTerm: (t) => (term = t) };
}

/** Operation `seq` of session 1, stamped as a client session sends it. */
const operation = (seq: number, data: string, lowestOutstanding = 1): Command => ({ kind: 'normal', data, stamp: { session: 1, seq, lowestOutstanding } });

describe('session: the leader drops copies before they reach the log', () => {
  it("answers a copy of an operation appended in this term with the first copy's position", async () => {
    const { copies, log } = leader();
    const op = operation(1, '"a"');
    const [first] = await copies.propose([op]);
    expect(await copies.propose([op, operation(2, '"b"')])).to.deep.equal([first, { index: 2, term: 1 }]);
    expect(log).to.deep.equal([op, operation(2, '"b"')]);
  });

  it('tells copies apart by their stamp alone: the same data under another number is another operation', async () => {
    const { copies, log } = leader();
    await copies.propose([operation(1, '"a"')]);
    // A retry carries a later lowestOutstanding; it is still a copy of operation 1.
    expect(await copies.propose([operation(1, '"a"', 2), operation(2, '"a"')])).to.deep.equal([
      { index: 1, term: 1 },
      { index: 2, term: 1 },
    ]);
    expect(log).to.have.length(2);
  });

  it('answers a copy of an operation already applied with ALREADY_APPLIED, appending nothing', async () => {
    const { copies, table, log } = leader();
    const op = operation(1, '"a"');
    await copies.propose([op]);
    table.verdict(1, 1, 1);
    table.record(1, 1, { ok: true, value: 'A' });
    copies.applied(1, 1);
    expect(await copies.propose([op])).to.deep.equal([ALREADY_APPLIED]);
    expect(log).to.have.length(1);
  });

  it('appends again what an earlier leadership appended and did not apply (it may have been overwritten)', async () => {
    const { copies, log, setTerm } = leader();
    const op = operation(1, '"a"');
    await copies.propose([op]);
    setTerm(2);
    expect(await copies.propose([op])).to.deep.equal([{ index: 2, term: 2 }]);
    expect(log).to.have.length(2);
  });

  it('always appends what is not a stamped operation: session openings and unstamped operations', async () => {
    const { copies, log } = leader();
    const unstamped: Command = { kind: 'normal', data: '"plain"' };
    await copies.propose([{ kind: 'session' }, { kind: 'session' }, unstamped, unstamped]);
    expect(log).to.have.length(4);
  });
});
