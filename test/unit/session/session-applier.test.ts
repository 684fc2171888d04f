import { expect } from 'chai';
import type { Entry, EntryKind, SessionStamp } from '../../../src/core/types.ts';
import { ClientSession } from '../../../src/session/client-session.ts';
import { LeaderCopies } from '../../../src/session/leader-copies.ts';
import { SessionApplier } from '../../../src/session/session-applier.ts';
import { SessionTable } from '../../../src/session/session-table.ts';
import { LEGACY_OPEN_SESSION, legacyOperation } from '../../helpers/legacy-log.ts';

/** Applies `entries` (indexes from 1) on a fresh node; returns what ran, the resulting table and what was reported. */
function applyLog(entries: readonly { kind: EntryKind; data: string; stamp?: SessionStamp }[]) {
  const sessions = new SessionTable(10);
  const ran: string[] = [];
  const reported: string[] = [];
  const applier = new SessionApplier({
    sessions,
    session: new ClientSession(
      () => {},
      () => undefined,
    ),
    leaderCopies: new LeaderCopies(
      sessions,
      async () => [],
      () => 1,
    ),
    run: (op, entry) => {
      ran.push(`${entry.index}:${op}`);
      return { ok: true, value: op };
    },
    report: (error) => reported.push(error.message),
  });
  entries.forEach((e, i) => applier.apply({ index: i + 1, term: 1, ...e } as Entry));
  return { ran, table: sessions.export(), reported };
}

const stamp = (seq: number, lowestOutstanding: number): SessionStamp => ({ session: 1, seq, lowestOutstanding });

describe('session: the apply path (thesis §6.3)', () => {
  const typed = [
    { kind: 'session' as const, data: '' },
    { kind: 'normal' as const, data: '"a"', stamp: stamp(1, 1) },
    { kind: 'normal' as const, data: '"a"', stamp: stamp(1, 1) }, // a copy
    { kind: 'noop' as const, data: '' },
    { kind: 'normal' as const, data: '"b"', stamp: stamp(2, 2) },
    { kind: 'normal' as const, data: '"a"', stamp: stamp(1, 1) }, // a copy the client settled already: stale
    { kind: 'normal' as const, data: '"plain"' }, // written before sessions existed
  ];

  it('opens sessions, applies each stamped operation once, and unstamped operations as they come', () => {
    const { ran, table, reported } = applyLog(typed);
    expect(ran).to.deep.equal(['2:"a"', '5:"b"', '7:"plain"']);
    expect(table).to.deep.equal([{ session: 1, floor: 2, outcomes: [[2, { ok: true, value: '"b"' }]] }]);
    expect(reported).to.deep.equal([]);
  });

  it('applies a log an older version wrote, with the session header in the data, exactly like the stamped one', () => {
    const legacy = [
      { kind: 'normal' as const, data: LEGACY_OPEN_SESSION },
      { kind: 'normal' as const, data: legacyOperation(1, 1, 1, '"a"') },
      { kind: 'normal' as const, data: legacyOperation(1, 1, 1, '"a"') },
      { kind: 'noop' as const, data: '' },
      { kind: 'normal' as const, data: legacyOperation(1, 2, 2, '"b"') },
      { kind: 'normal' as const, data: legacyOperation(1, 1, 1, '"a"') },
      { kind: 'normal' as const, data: '"plain"' },
    ];
    expect(applyLog(legacy)).to.deep.equal(applyLog(typed));
    // A log that changes form midway (written across an upgrade) applies alike too.
    expect(applyLog([...legacy.slice(0, 3), ...typed.slice(3)])).to.deep.equal(applyLog(typed));
  });

  it('skips an old-form entry with a malformed header on every node alike, and reports it', () => {
    const { ran, reported } = applyLog([
      { kind: 'session', data: '' },
      { kind: 'normal', data: '\u0001op:x:1:1:"a"' },
      { kind: 'normal', data: '"b"', stamp: stamp(1, 1) },
    ]);
    expect(ran).to.deep.equal(['3:"b"']);
    expect(reported).to.deep.equal(['entry 2 was skipped: malformed session in the command header "\\u0001op:x:1:1:\\"a\\""']);
  });

  it('reads a stamped entry by its stamp, never its data: data that looks like the old header is an operation', () => {
    const { ran } = applyLog([
      { kind: 'session', data: '' },
      { kind: 'normal', data: legacyOperation(9, 9, 9, '"x"'), stamp: stamp(1, 1) },
    ]);
    expect(ran).to.deep.equal([`2:${legacyOperation(9, 9, 9, '"x"')}`]);
  });
});
