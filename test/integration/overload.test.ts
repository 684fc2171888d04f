import { expect } from 'chai';
import { GraftError } from '../../src/errors.ts';
import { GraftCluster, waitUntil } from '../helpers/graft-cluster.ts';
import { waitUntil as poll } from '../helpers/processes.ts';

/** What `promise` settled with, once it did: 'resolved', or the rejection's GraftError code. */
async function outcomeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof GraftError ? error.code : String(error)),
  );
}

describe('integration: a node under more load than it can take refuses with OVERLOADED instead of queueing without bound', function () {
  this.timeout(30_000);
  let cluster: GraftCluster | undefined;

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('refuses an operation past maxPendingOperations at once, and takes more once those waiting are answered', async () => {
    cluster = await GraftCluster.create(3, { requestTimeoutMs: 20_000, instance: { maxPendingOperations: 5 } });
    const leader = await cluster.agreedLeader();
    const graft = cluster.node(leader).graft;
    await graft.applyOperation('warm');
    const followers = [...cluster.nodes.keys()].filter((id) => id !== leader);
    // Without its followers the leader commits nothing: operations wait.
    for (const id of followers) await cluster.node(id).graft.stop();
    const waiting = ['a', 'b', 'c', 'd', 'e'].map((op) => graft.applyOperation(op));
    const refused = await graft.applyOperation('f').then(
      () => expect.fail('a sixth operation was taken'),
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(GraftError);
    expect((refused as GraftError).code).to.equal('OVERLOADED');
    expect((refused as Error).message).to.match(/has 5 operations \(\d+ characters\) waiting for their outcome, at most 5/);
    for (const id of followers) await cluster.restart(id);
    expect(await Promise.all(waiting.map(outcomeOf))).to.deep.equal(Array(5).fill('resolved'));
    await graft.applyOperation('g');
    await waitUntil(cluster.instances(), () => cluster!.node(leader).applied.includes('g'), 'the next operation to be applied');
    expect(cluster.node(leader).applied.filter((op) => op === 'f')).to.deep.equal([]);
  });

  it('a leader whose followers do not acknowledge refuses proposals past maxUncommittedEntries, and commits those it holds once they return', async () => {
    // checkQuorum off: the leader keeps leading alone, so only the cap stops its log from growing.
    cluster = await GraftCluster.create(3, { requestTimeoutMs: 20_000, instance: { maxUncommittedEntries: 10, checkQuorum: false } });
    const leader = await cluster.agreedLeader();
    const graft = cluster.node(leader).graft;
    await graft.applyOperation('warm');
    const followers = [...cluster.nodes.keys()].filter((id) => id !== leader);
    for (const id of followers) await cluster.node(id).graft.stop();
    const waiting = Array.from({ length: 10 }, (_, i) => graft.applyOperation(`op ${i}`));
    // The leader's own match index is its durable last index.
    const uncommitted = () => graft.members().find((m) => m.id === leader)!.matchIndex! - graft.status().commitIndex;
    await poll('ten entries to await a quorum', async () => uncommitted() === 10);
    const refused = await outcomeOf(graft.applyOperation('one too many'));
    expect(refused).to.equal('OVERLOADED');
    expect(uncommitted()).to.equal(10);
    for (const id of followers) await cluster.restart(id);
    expect(await Promise.all(waiting.map(outcomeOf))).to.deep.equal(Array(10).fill('resolved'));
  });
});
