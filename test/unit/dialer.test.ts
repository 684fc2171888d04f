import { expect } from 'chai';
import { createServer, type AddressInfo } from 'node:net';
import sinon from 'sinon';
import { silentLogger } from '../../src/logger.ts';
import { Backoff } from '../../src/transport/ws/backoff.ts';
import { Dialer } from '../../src/transport/ws/dialer.ts';

describe('transport: reconnecting with backoff', () => {
  afterEach(() => sinon.restore());

  it('backs off from half the initial delay, doubling up to the cap, with jitter in the upper half', () => {
    sinon.stub(Math, 'random').returns(0);
    const low = new Backoff({ initialMs: 50, maxMs: 400 });
    expect(Array.from({ length: 6 }, () => low.next())).to.deep.equal([25, 50, 100, 200, 200, 200]);
    low.reset();
    expect(low.next()).to.equal(25);
    (Math.random as sinon.SinonStub).returns(0.999999);
    const high = new Backoff({ initialMs: 50, maxMs: 400 });
    expect(Array.from({ length: 5 }, () => high.next())).to.deep.equal([50, 100, 200, 400, 400]);
  });

  it('a dialer whose peer keeps hanging up waits each backoff delay before calling again, and stops for good', async () => {
    sinon.stub(Math, 'random').returns(0);
    // Only the dialer's timers are fake: the sockets and the server run on real time.
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    // A peer that hangs up on every call at once (no WebSocket closing handshake, so no timers of ws's own).
    let connections = 0;
    let arrived: () => void = () => {};
    const server = createServer((socket) => {
      connections++;
      arrived();
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const next = (): Promise<void> => new Promise((resolve) => (arrived = resolve));
    const dialer = new Dialer({
      self: '1',
      peer: '2',
      url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/raft`,
      maxPayload: 1 << 20,
      backoff: { initialMs: 40, maxMs: 160 },
      logger: silentLogger,
      onOpen: () => {},
    });
    try {
      let arrival = next();
      dialer.start();
      await arrival;
      const delays = [20, 40, 80, 80]; // half of 40, 80, 160, then the cap of 160 (Math.random is 0)
      for (const [i, delay] of delays.entries()) {
        // The close has to reach the dialer before its timer is set: wait for that, on real time.
        await waitFor(() => clock.countTimers() === 1);
        arrival = next();
        await clock.tickAsync(delay - 1);
        expect(connections, `no call ${i + 2} before ${delay} ms`).to.equal(i + 1);
        await clock.tickAsync(1);
        await arrival;
        expect(connections).to.equal(i + 2);
      }
      expect(connections).to.equal(5);
      await waitFor(() => clock.countTimers() === 1);
      dialer.stop();
      expect(clock.countTimers(), 'stop() clears the pending reconnect').to.equal(0);
    } finally {
      dialer.stop();
      clock.restore();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** Resolves once `condition` holds, checking on real time (the fake clock only drives the dialer's timers). */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition(), 'condition within 500 turns of the event loop').to.equal(true);
}
