import { expect } from 'chai';
import type { LogPosition } from '../../src/core/raft.ts';
import type { Command } from '../../src/core/types.ts';
import { Forwarder } from '../../src/runtime/forwarding.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';

const clock: Clock = { now: () => 0, after: () => () => {}, every: () => () => {}, defer: (fn) => queueMicrotask(fn) };

describe('forwarding: the leader side', () => {
  it('a duplicated request is answered with the first answer, and its commands are appended once', async () => {
    const proposed: Command[][] = [];
    const sent: PeerMessage[] = [];
    const leader = new Forwarder(
      1,
      '1',
      clock,
      1000,
      (_to, m) => sent.push(m) > 0,
      async (commands) => {
        proposed.push([...commands]);
        return commands.map((_, i): LogPosition => ({ index: 10 + proposed.length * 10 + i, term: 3 }));
      },
    );
    const commands: Command[] = [{ kind: 'session' }, { kind: 'normal', data: 'b', stamp: { session: 4, seq: 1, lowestOutstanding: 1 } }];
    const request = { type: 'Forward', from: '2', to: '1', id: 77, commands } as const;
    leader.handle(request);
    leader.handle(request);
    leader.handle({ ...request, id: 78 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(proposed).to.deep.equal([commands, commands]); // ids 77 and 78, not 77 twice
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
      async (commands) => commands.map(() => ({ index: ++proposals, term: 1 })),
    );
    leader.handle({ type: 'Forward', from: '2', to: '1', id: 5, commands: [{ kind: 'normal', data: 'x' }] });
    leader.handle({ type: 'Forward', from: '3', to: '1', id: 5, commands: [{ kind: 'normal', data: 'y' }] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(proposals).to.equal(2);
  });
});
