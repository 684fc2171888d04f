import { expect } from 'chai';
import { parseClusterConfig } from '../../src/config.ts';
import { GraftInstance } from '../../src/graft.ts';
import type { GraftError } from '../../src/errors.ts';
import { silentLogger } from '../../src/logger.ts';
import { realClock, type Cancel, type Clock } from '../../src/runtime/clock.ts';
import { OwnedTimers } from '../../src/runtime/owned-timers.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { waitUntil } from '../helpers/graft-cluster.ts';

/** The real clock, counting the timers set through it that have neither fired nor been cancelled. */
function countingClock(): Clock & { live(): string[] } {
  const live = new Map<number, string>();
  let next = 0;
  const track = (kind: string, ms: number, set: (fn: () => void) => Cancel, fn: () => void, once: boolean): Cancel => {
    const id = next++;
    live.set(id, `${kind}(${ms}) set at ${new Error().stack?.split('\n')[4]?.trim() ?? '?'}`);
    const cancel = set(() => {
      if (once) live.delete(id);
      fn();
    });
    return () => {
      live.delete(id);
      cancel();
    };
  };
  return {
    now: () => realClock.now(),
    defer: (fn) => realClock.defer(fn),
    after: (ms, fn) => track('after', ms, (f) => realClock.after(ms, f), fn, true),
    every: (ms, fn) => track('every', ms, (f) => realClock.every(ms, f), fn, false),
    live: () => [...live.values()],
  };
}

describe('every timer has an owner', () => {
  it('OwnedTimers cancels every live timer, forgets fired ones, and lets one be cancelled alone', async () => {
    const clock = countingClock();
    const timers = new OwnedTimers(clock);
    let fired = 0;
    timers.after(1, () => fired++);
    const cancelOne = timers.after(10_000, () => fired++);
    timers.every(10_000, () => fired++);
    timers.after(20_000, () => fired++);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fired).to.equal(1);
    expect(clock.live()).to.have.length(3);
    cancelOne();
    expect(clock.live()).to.have.length(2);
    timers.cancelAll();
    expect(clock.live()).to.deep.equal([]);
  });

  it('a GraftInstance that stopped leaves no timer behind: deadlines, retries, polls and ticks are all cancelled', async () => {
    const clock = countingClock();
    const network = new MemoryNetwork();
    const config = parseClusterConfig('electionTimeout: 100\nconfiguration:\n  1: 127.0.0.1:1\n  2: 127.0.0.1:2\n  3: 127.0.0.1:3\n');
    const nodes = ['1', '2', '3'].map(
      (id) =>
        new GraftInstance<string, number>(
          { config, machineId: id, logger: silentLogger, transport: network.transport(id), serializer: jsonSerializer<string>(), applicator: () => 0 },
          { clock },
        ),
    );
    await Promise.all(nodes.map((n) => n.start()));
    await nodes[0]!.ready();
    // Work that sets deadlines and retries: writes and reads through every node, one of them cut off for a while.
    network.isolate('3');
    const cutOff = nodes[2]!.readBarrier().catch(() => {});
    await Promise.all(nodes.slice(0, 2).map((n) => Promise.all([n.applyOperation('x'), n.readBarrier()])));
    network.heal();
    await cutOff;
    // Reads still waiting when the instances stop: their deadlines and retries go with them, and the
    // reads are told. Node 3, cut off until it knows no leader, is retrying its read when it stops.
    network.isolate('3');
    await waitUntil(nodes as never, () => nodes[2]!.status().leader === null, 'node 3 to lose its leader');
    const waiting = nodes.map((n) =>
      n.readBarrier().then(
        () => 'read',
        (error: GraftError) => error.code,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 30)); // a retry or two
    await Promise.all(nodes.map((n) => n.stop()));
    expect((await Promise.all(waiting))[2], "node 3's read, retrying when it stopped").to.equal('SHUTDOWN');
    expect(clock.live(), 'timers still set after stop()').to.deep.equal([]);
  });
});
