import { expect } from 'chai';
import type { LogPosition } from '../../src/core/raft.ts';
import { Forwarder } from '../../src/runtime/forwarding.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';

const clock: Clock = { now: () => 0, after: () => () => {}, every: () => () => {}, defer: (fn) => queueMicrotask(fn) };

describe('forwarding: the leader side', () => {
  it('a duplicated request is answered with the first answer, and its ops are appended once', async () => {
    const proposed: string[][] = [];
    const sent: PeerMessage[] = [];
    const leader = new Forwarder(
      1,
      '1',
      clock,
      1000,
      (_to, m) => sent.push(m) > 0,
      async (ops) => {
        proposed.push([...ops]);
        return ops.map((_, i): LogPosition => ({ index: 10 + proposed.length * 10 + i, term: 3 }));
      },
    );
    const request = { type: 'Forward', from: '2', to: '1', id: 77, ops: ['a', 'b'] } as const;
    leader.handle(request);
    leader.handle(request);
    leader.handle({ ...request, id: 78 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(proposed).to.deep.equal([
      ['a', 'b'],
      ['a', 'b'],
    ]); // ids 77 and 78, not 77 twice
    const answers = sent.filter((m) => m.type === 'ForwardResponse');
    expect(answers.map((m) => [m.id, m.positions?.[0]?.index])).to.deep.equal([
      [77, 20],
      [77, 20],
      [78, 30],
    ]);
  });

  it('the same id from another follower is another request', async () => {
    let proposals = 0;
    const leader = new Forwarder(
      1,
      '1',
      clock,
      1000,
      () => true,
      async (ops) => ops.map(() => ({ index: ++proposals, term: 1 })),
    );
    leader.handle({ type: 'Forward', from: '2', to: '1', id: 5, ops: ['x'] });
    leader.handle({ type: 'Forward', from: '3', to: '1', id: 5, ops: ['y'] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(proposals).to.equal(2);
  });
});
