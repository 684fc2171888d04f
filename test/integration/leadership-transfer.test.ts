import { expect } from 'chai';
import { GraftError } from '../../src/errors.ts';
import { GraftCluster } from '../helpers/graft-cluster.ts';

const codeOf = (p: Promise<unknown>): Promise<string | null> =>
  p.then(
    () => null,
    (e: unknown) => (e instanceof GraftError ? e.code : String(e)),
  );

describe('integration: leadership transfer over real WebSockets (thesis §3.10)', function () {
  this.timeout(60_000);
  let cluster: GraftCluster;

  beforeEach(async () => {
    cluster = await GraftCluster.create(3);
  });

  afterEach(async () => {
    await cluster.stop();
  });

  it('moves leadership to the chosen node, and writes go on', async () => {
    const leader = await cluster.agreedLeader();
    const target = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    const { term } = cluster.node(leader).graft.status();
    expect(await cluster.node(leader).graft.transferLeadership(target)).to.equal(target);
    expect(await cluster.agreedLeader()).to.equal(target);
    expect(cluster.node(target).graft.status().term).to.equal(term + 1);
    expect(await cluster.node(leader).graft.applyOperation('after the transfer')).to.be.a('number');
  });

  it('refuses on a follower, naming the leader, and refuses a machine that is not a member', async () => {
    const leader = await cluster.agreedLeader();
    const follower = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    const refused = await cluster
      .node(follower)
      .graft.transferLeadership(leader)
      .then(
        () => null,
        (e: GraftError) => e,
      );
    expect(refused).to.include({ code: 'NOT_LEADER', leader });
    expect(await codeOf(cluster.node(leader).graft.transferLeadership('9'))).to.equal('INVALID_ARGUMENT');
  });

  it('stop() on the leader hands over first: a survivor already leads, one term later, when it returns', async () => {
    const leader = await cluster.agreedLeader();
    const { term } = cluster.node(leader).graft.status();
    await cluster.node(leader).graft.stop();
    // Without a handover nobody could lead yet: an election needs at least an election timeout.
    const leaders = [...cluster.nodes.values()].filter((n) => n.graft.isRunning() && n.graft.status().role === 'Leader');
    expect(leaders).to.have.length(1);
    expect(leaders[0]!.graft.status().term).to.equal(term + 1);
  });
});
