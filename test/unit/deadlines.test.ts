import { expect } from 'chai';
import { DeadlineQueue, type Expiring } from '../../src/runtime/deadlines.ts';
import { ManualClock } from '../simulation/manual-clock.ts';

/** A waiter as the queue holds it. */
interface Waiter extends Expiring {
  readonly name: string;
}

function waiter(name: string): Waiter {
  return { name, expiresAt: 0, waiting: false };
}

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
    const queue = new DeadlineQueue<Waiter>(clock, 100, (item) => expired.push(`${item.name}@${manual.time}`));
    const [a, b, c] = [waiter('a'), waiter('b'), waiter('c')];
    queue.add(a);
    await runUntil(manual, 10);
    queue.add(b);
    queue.add(c);
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
    const queue = new DeadlineQueue<Waiter>(counting, 100, () => expect.fail('nothing expires'));
    for (let i = 0; i < 1000; i++) {
      const item = waiter(String(i));
      queue.add(item);
      queue.settle(item);
      await runUntil(manual, manual.time + 1);
    }
    // One timer per deadline length at most, however many operations: it re-arms only when it runs out.
    expect(timers).to.be.at.most(11);
  });

  it('after stop, nothing expires, and settling still tells whether an item was live', async () => {
    const manual = new ManualClock();
    const queue = new DeadlineQueue<Waiter>(manual.view(), 100, () => expect.fail('nothing expires after stop'));
    const a = waiter('a');
    queue.add(a);
    queue.stop();
    await runUntil(manual, 500);
    expect(queue.settle(a)).to.equal(true);
  });
});
