import { expect } from 'chai';
import { CoreCluster, normal, ofType } from '../../helpers/core-cluster.ts';

const extensions = { preVote: true, checkQuorum: true } as const;

describe('core: leadership transfer (thesis §3.10)', () => {
  it("hands leadership to an up-to-date follower at once, past its peers' leases, in the next term", () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    c.node('1').propose(normal('x'));
    c.settle();
    const { term } = c.node('1').softState();
    expect(c.node('1').transferLeadership('3')).to.equal('3');
    c.settle(); // no ticks: nobody's election timeout passes, so only TimeoutNow can explain a new leader
    expect(c.leaders()).to.deep.equal(['3']);
    expect(c.node('3').softState().term).to.equal(term + 1);
    for (const id of c.ids) expect(c.appliedData(id)).to.deep.equal(['x']);
  });

  it('brings a lagging target up to date before telling it to campaign', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    c.cut.add('1->3');
    for (let i = 0; i < 5; i++) c.node('1').propose(normal(`w${i}`));
    c.settle();
    c.heal();
    c.node('1').transferLeadership('3');
    c.flush();
    expect(ofType(c.queue, 'TimeoutNow'), 'not before the target has the whole log').to.deep.equal([]);
    c.settle();
    expect(c.leaders()).to.deep.equal(['3']);
    expect(c.appliedData('3')).to.have.length(5);
  });

  it('refuses proposals while the transfer runs', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    c.isolate('3');
    c.node('1').transferLeadership('3');
    expect(c.node('1').propose(normal('during'))).to.equal(null);
    expect(c.node('1').transferTarget()).to.equal('3');
  });

  it('gives up after an election timeout when the target does not answer, and takes proposals again', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    c.isolate('3');
    c.node('1').transferLeadership('3');
    for (let i = 0; i < 10; i++) {
      for (const id of ['1', '2']) c.node(id).tick();
      c.settle();
    }
    expect(c.node('1').transferTarget()).to.equal(null);
    expect(c.leaders()).to.deep.equal(['1']);
    expect(c.node('1').propose(normal('after'))).to.not.equal(null);
  });

  it('without a target, picks the most up-to-date follower; it refuses when not leading', () => {
    const c = new CoreCluster(['1', '2', '3'], extensions);
    c.elect('1');
    c.cut.add('1->2');
    c.node('1').propose(normal('y'));
    c.settle();
    expect(c.node('1').transferLeadership(null)).to.equal('3');
    expect(c.node('2').transferLeadership('3')).to.equal(null);
  });
});
