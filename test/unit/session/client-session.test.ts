import { expect } from 'chai';
import type { LogPosition } from '../../../src/core/raft.ts';
import type { Command } from '../../../src/core/types.ts';
import { GraftError } from '../../../src/errors.ts';
import { ClientSession, type OperationWaiter, type Route } from '../../../src/session/client-session.ts';
import type { Outcome } from '../../../src/session/session-table.ts';

/** A fake leader and log: records what was sent, lets the test answer each send and apply entries. */
class FakeRoute {
  readonly sent: { command: Command; answer: (p: LogPosition) => void; fail: (e: Error) => void }[] = [];
  readonly route: Route = (command, landing) => this.sent.push({ command, answer: (p) => landing.landed(p), fail: (e) => landing.refused(e) });
  /** Applied entries' terms, by index. */
  readonly applied = new Map<number, number>();

  session(): ClientSession {
    return new ClientSession(this.route, (index) => this.applied.get(index));
  }

  /** Applies the entry (index, term) on the session's node. */
  apply(session: ClientSession, index: number, term: number): void {
    this.applied.set(index, term);
    session.entryApplied(index, term);
  }

  described(): string[] {
    return this.sent.map(({ command: c }) => {
      if (c.kind === 'session') return 'open-session';
      return c.stamp === undefined ? `unstamped ${c.data}` : `${c.stamp.session}/${c.stamp.seq}<${c.stamp.lowestOutstanding} ${c.data}`;
    });
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs `op` in `session` with a waiter that settles a promise, as applyOperation does. */
function run(session: ClientSession, op: string): { seq: number; outcome: Promise<Outcome> } {
  let waiter!: OperationWaiter;
  const outcome = new Promise<Outcome>((resolve, reject) => (waiter = { settled: resolve, failed: reject }));
  return { seq: session.run(op, waiter), outcome };
}

/** A session whose opening entry landed at index 5 of term 1 and was applied. */
async function opened(): Promise<{ fake: FakeRoute; session: ClientSession }> {
  const fake = new FakeRoute();
  const session = fake.session();
  return { fake, session: await openAt(fake, session) };
}

async function openAt(fake: FakeRoute, session: ClientSession): Promise<ClientSession> {
  session.open();
  fake.sent.at(-1)?.answer({ index: 5, term: 1 });
  await tick();
  fake.apply(session, 5, 1);
  await tick();
  return session;
}

describe("session: this instance's client session", () => {
  it('opens a session in the log first, then sends operations numbered within it', async () => {
    const fake = new FakeRoute();
    const session = fake.session();
    run(session, 'a');
    run(session, 'b');
    expect(fake.described()).to.deep.equal(['open-session']);
    await openAt(fake, session);
    expect(fake.described().slice(1)).to.deep.equal(['5/1<1 a', '5/2<1 b']);
  });

  it('resolves with the outcome of the first copy applied, or the stored one a duplicate carries', async () => {
    const { session } = await opened();
    const first = run(session, 'a');
    const second = run(session, 'b');
    session.settled(5, first.seq, { kind: 'apply' }, { ok: true, value: 'A' });
    session.settled(5, second.seq, { kind: 'duplicate', outcome: { ok: true, value: 'B' } }, null);
    expect(await first.outcome).to.deep.equal({ ok: true, value: 'A' });
    expect(await second.outcome).to.deep.equal({ ok: true, value: 'B' });
  });

  it('sends again when the leader does not answer, when a new leader is known, and when its copy was replaced', async () => {
    const { fake, session } = await opened();
    run(session, 'a');
    fake.sent[1]!.fail(new GraftError('TIMEOUT_OUTCOME_UNKNOWN', 'no answer'));
    await tick();
    expect(fake.described().slice(1)).to.deep.equal(['5/1<1 a', '5/1<1 a']);

    fake.sent[2]!.answer({ index: 9, term: 1 });
    await tick();
    session.leaderChanged();
    expect(fake.described()).to.have.length(4);

    fake.sent[3]!.answer({ index: 11, term: 2 });
    await tick();
    fake.apply(session, 11, 2); // the copy at 11 is ours: no new copy
    fake.apply(session, 9, 3); // index 9 holds another entry now, but our latest copy is at 11
    expect(fake.described()).to.have.length(4);
  });

  it("a copy replaced by another leader's entry is sent again", async () => {
    const { fake, session } = await opened();
    run(session, 'a');
    fake.sent[1]!.answer({ index: 9, term: 1 });
    await tick();
    fake.apply(session, 9, 2);
    expect(fake.described().slice(1)).to.deep.equal(['5/1<1 a', '5/1<1 a']);
  });

  it('an answer that comes after its entry was applied still counts: the session opens, a replaced copy is sent again', async () => {
    const fake = new FakeRoute();
    const session = fake.session();
    run(session, 'a');
    fake.apply(session, 3, 1); // the opening is applied before the leader's answer arrives
    fake.sent[0]!.answer({ index: 3, term: 1 });
    await tick();
    expect(fake.described()).to.deep.equal(['open-session', '3/1<1 a']);

    fake.apply(session, 4, 2); // another leader's entry took the place the answer will name
    fake.sent[1]!.answer({ index: 4, term: 1 });
    await tick();
    expect(fake.described()).to.deep.equal(['open-session', '3/1<1 a', '3/1<1 a']);
  });

  it('numbers the lowest operation still waited for, so the table can forget the rest', async () => {
    const { fake, session } = await opened();
    const a = run(session, 'a');
    run(session, 'b');
    session.abandon(a.seq);
    run(session, 'c');
    expect(fake.described().slice(1)).to.deep.equal(['5/1<1 a', '5/2<1 b', '5/3<2 c']);
  });

  it('when the table says the session expired, fails what is pending with SESSION_EXPIRED and opens a new one for later operations', async () => {
    const { fake, session } = await opened();
    const a = run(session, 'a');
    session.settled(5, a.seq, { kind: 'expired' }, null);
    expect(
      await a.outcome.then(
        () => null,
        (e: GraftError) => e.code,
      ),
    ).to.equal('SESSION_EXPIRED');
    run(session, 'b');
    expect(fake.described().at(-1)).to.equal('open-session');
  });
});
