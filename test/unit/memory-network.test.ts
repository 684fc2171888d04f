import { expect } from 'chai';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';

type Vote = Extract<PeerMessage, { type: 'RequestVoteResponse' }>;
const vote = (from: string, to: string, term: number): Vote => ({ type: 'RequestVoteResponse', from, to, term, granted: true });

describe('memory network', () => {
  async function endpoints(network: MemoryNetwork, ids: string[]) {
    const inbox = new Map<string, Vote[]>(ids.map((id) => [id, []]));
    const transports = new Map(ids.map((id) => [id, network.transport(id)]));
    for (const [id, t] of transports) await t.start((m) => inbox.get(id)!.push(m as Vote));
    return { inbox, send: (from: string, to: string, term: number) => transports.get(from)!.send(to, [vote(from, to, term)]) };
  }
  const drained = () => new Promise((resolve) => setImmediate(resolve));

  it('delivers asynchronously and in order', async () => {
    const network = new MemoryNetwork();
    const { inbox, send } = await endpoints(network, ['a', 'b']);
    for (let t = 1; t <= 5; t++) expect(send('a', 'b', t)).to.equal(true);
    expect(inbox.get('b')).to.deep.equal([]);
    await drained();
    expect(inbox.get('b')!.map((m) => m.term)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('a cut link or an isolated node refuses to send, until healed', async () => {
    const network = new MemoryNetwork();
    const { inbox, send } = await endpoints(network, ['a', 'b', 'c']);
    network.disconnect('a', 'b');
    expect(send('a', 'b', 1)).to.equal(false);
    expect(send('b', 'a', 1)).to.equal(false);
    expect(send('a', 'c', 1)).to.equal(true);
    network.isolate('c'); // while term 1 is in flight: it is lost
    expect(send('b', 'c', 2)).to.equal(false);
    await drained();
    expect(inbox.get('c')).to.deep.equal([]);
    network.heal();
    expect(send('a', 'b', 3)).to.equal(true);
    expect(send('b', 'c', 4)).to.equal(true);
    await drained();
    expect(inbox.get('b')!.map((m) => m.term)).to.deep.equal([3]);
    expect(inbox.get('c')!.map((m) => m.term)).to.deep.equal([4]);
  });

  it('loses batches at the given rate, deterministically', async () => {
    const network = new MemoryNetwork();
    const { inbox, send } = await endpoints(network, ['a', 'b']);
    let i = 0;
    network.setDropRate(0.5, () => (i++ % 2 === 0 ? 0.1 : 0.9));
    for (let t = 1; t <= 6; t++) send('a', 'b', t);
    await drained();
    expect(inbox.get('b')!.map((m) => m.term)).to.deep.equal([2, 4, 6]);
  });
});
