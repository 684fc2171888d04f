import { expect } from 'chai';
import { DeadlineQueue } from '../../src/runtime/deadlines.ts';
import { ManualClock } from '../simulation/manual-clock.ts';

/** Runs the clock's timers up to `end` ms. */
async function runUntil(clock: ManualClock, end: number): Promise<void> {
  while (await clock.step(end));
  clock.time = end;
}

describe('DeadlineQueue: one timer for many deadlines of the same length', () => {
  it('expires, in order and once each, exactly the items not settled in time', async () => {
    const manual = new ManualClock();
    const clock = manual.view();
    const expired: string[] = [];
    const queue = new DeadlineQueue<string>(clock, 100, (item) => expired.push(`${item}@${manual.time}`));
    const a = queue.add('a');
    await runUntil(manual, 10);
    queue.add('b');
    const c = queue.add('c');
    await runUntil(manual, 50);
    expect(queue.settle(a), 'settled before its deadline').to.equal(true);
    expect(queue.settle(a), 'settled twice').to.equal(false);
    await runUntil(manual, 200);
    expect(expired).to.deep.equal(['b@110', 'c@110']);
    expect(queue.settle(c), 'settled after it expired').to.equal(false);
  });

  it('sets no timer of its own for an item settled at once, one after another', async () => {
    const manual = new ManualClock();
    const clock = manual.view();
    let timers = 0;
    const counting = { ...clock, after: (ms: number, fn: () => void) => (timers++, clock.after(ms, fn)) };
    const queue = new DeadlineQueue<number>(counting, 100, () => expect.fail('nothing expires'));
    for (let i = 0; i < 1000; i++) {
      queue.settle(queue.add(i));
      await runUntil(manual, manual.time + 1);
    }
    // One timer per deadline length at most, however many operations: it re-arms only when it runs out.
    expect(timers).to.be.at.most(11);
  });

  it('lets go of a settled item at once, even behind one still waiting', () => {
    const manual = new ManualClock();
    const queue = new DeadlineQueue<{ name: string }>(manual.view(), 100, () => {});
    const first = queue.add({ name: 'first' });
    const second = queue.add({ name: 'second' });
    queue.settle(second);
    // The queue still holds the second deadline behind the first; it must not hold the caller's waiter.
    expect(second.item).to.equal(null);
    expect(first.item).to.deep.equal({ name: 'first' });
  });

  it('after stop, nothing expires, and settling still tells whether an item was live', async () => {
    const manual = new ManualClock();
    const queue = new DeadlineQueue<string>(manual.view(), 100, () => expect.fail('nothing expires after stop'));
    const a = queue.add('a');
    queue.stop();
    await runUntil(manual, 500);
    expect(queue.settle(a)).to.equal(true);
  });
});
