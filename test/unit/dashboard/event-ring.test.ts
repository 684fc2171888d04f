import { expect } from 'chai';
import { EventRing } from '../../../src/cli/apps/kvstore/dashboard/event-ring.ts';

describe('dashboard: EventRing keeps the last few events', () => {
  it('lists what was pushed, oldest first, until it is full', () => {
    const ring = new EventRing<number>(3);
    expect(ring.list()).to.deep.equal([]);
    ring.push(1);
    ring.push(2);
    expect(ring.list()).to.deep.equal([1, 2]);
    expect(ring.size).to.equal(2);
  });

  it('forgets the oldest once full, however many go round', () => {
    const ring = new EventRing<number>(3);
    for (let i = 1; i <= 10; i++) ring.push(i);
    expect(ring.list()).to.deep.equal([8, 9, 10]);
    expect(ring.size).to.equal(3);
    ring.push(11);
    expect(ring.list()).to.deep.equal([9, 10, 11]);
  });

  it('refuses a capacity that is not a positive integer, naming it', () => {
    for (const bad of [0, -1, 1.5, NaN])
      expect(() => new EventRing(bad)).to.throw(RangeError, `an event ring's capacity must be a positive integer, got ${bad}`);
  });
});
