import { expect } from 'chai';
import { CommitRate } from '../../../src/cli/apps/kvstore/dashboard/commit-rate.ts';

describe('dashboard: CommitRate turns commit index samples into commits per second', () => {
  it('is 0 before two samples', () => {
    const rate = new CommitRate();
    expect(rate.perSecond()).to.equal(0);
    rate.sample(10, 1000);
    expect(rate.perSecond()).to.equal(0);
    expect(rate.history()).to.deep.equal([]);
  });

  it('gives each interval its rate, and the steady figure over the last `window` intervals', () => {
    const rate = new CommitRate(60, 2);
    rate.sample(0, 0);
    rate.sample(50, 500); // 100/s
    rate.sample(50, 1000); // 0/s
    rate.sample(350, 1500); // 600/s
    expect(rate.history()).to.deep.equal([100, 0, 600]);
    // Over the last two intervals: 300 entries in 1 s.
    expect(rate.perSecond()).to.equal(300);
  });

  it('keeps only the last `keep` rates', () => {
    const rate = new CommitRate(3);
    for (let i = 0; i <= 5; i++) rate.sample(i * 10, i * 1000);
    expect(rate.history()).to.deep.equal([10, 10, 10]);
  });

  it('ignores a sample that is not later than the last, and counts a commit index that went back as no commits', () => {
    const rate = new CommitRate(60, 1);
    rate.sample(100, 1000);
    rate.sample(200, 1000);
    expect(rate.history()).to.deep.equal([]);
    rate.sample(40, 2000);
    expect(rate.history()).to.deep.equal([0]);
    expect(rate.perSecond()).to.equal(0);
  });
});
