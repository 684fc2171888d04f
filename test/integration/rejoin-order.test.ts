import { expect } from 'chai';
import { parseClusterConfig } from '../../src/config.ts';
import type { Entry, HardState } from '../../src/core/types.ts';
import { GraftInstance } from '../../src/graft.ts';
import { silentLogger } from '../../src/logger.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { waitUntil } from '../helpers/graft-cluster.ts';

/**
 * A storage that notes, for every hard state that lifts the rejoin mark, how many appends were still
 * in flight once the runtime had issued that turn's writes: a crash could then keep the lifted mark
 * and lose those entries (a short write keeps a prefix of the records).
 */
class OrderWatch extends MemoryStorage {
  private inFlight = 0;
  private marked = false;
  readonly liftedWithAppendsInFlight: number[] = [];

  override async append(entries: readonly Entry[]): Promise<void> {
    this.inFlight++;
    try {
      await new Promise((resolve) => setImmediate(resolve)); // a write takes a while
      await super.append(entries);
    } finally {
      this.inFlight--;
    }
  }

  override async saveHardState(hardState: HardState): Promise<void> {
    if (this.marked && hardState.rejoining !== true) {
      // Writes of one turn are issued together: look once the turn has issued them all.
      queueMicrotask(() => this.liftedWithAppendsInFlight.push(this.inFlight));
    }
    this.marked = hardState.rejoining === true;
    await super.saveHardState(hardState);
  }
}

describe('a node rejoining after losing its data (RejoinGuard)', () => {
  it('lifts its rejoin mark on disk only after the entries that lifted it are durable', async () => {
    const network = new MemoryNetwork();
    const config = parseClusterConfig('electionTimeout: 100\nconfiguration:\n  1: 127.0.0.1:1\n  2: 127.0.0.1:2\n  3: 127.0.0.1:3\n');
    const start = async (id: string, storage: Storage): Promise<GraftInstance<string, number>> => {
      const g = new GraftInstance<string, number>({
        config,
        machineId: id,
        storage,
        logger: silentLogger,
        transport: network.transport(id),
        serializer: jsonSerializer<string>(),
        applicator: () => 0,
      });
      await g.start();
      return g;
    };
    const nodes = [await start('1', new MemoryStorage()), await start('2', new MemoryStorage()), await start('3', new MemoryStorage())];
    await nodes[0]!.ready();
    for (let i = 0; i < 20; i++) await nodes[i % 2]!.applyOperation(`w${i}`);
    // Node 3 loses its data directory and comes back empty: it holds back until caught up.
    await nodes[2]!.stop();
    const watch = new OrderWatch();
    nodes[2] = await start('3', watch);
    const leader = nodes.find((n) => n.status().role === 'Leader')!;
    const target = leader.status().commitIndex;
    await waitUntil(nodes as never, () => nodes[2]!.status().appliedIndex >= target, 'node 3 to catch up');
    await Promise.all(nodes.map((n) => n.stop()));
    expect(watch.liftedWithAppendsInFlight, 'the mark was lifted').to.have.length.greaterThan(0);
    expect(watch.liftedWithAppendsInFlight, 'appends still in flight when the lifted mark was written').to.deep.equal(
      watch.liftedWithAppendsInFlight.map(() => 0),
    );
  });
});
