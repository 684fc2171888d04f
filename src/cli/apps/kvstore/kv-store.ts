import { isDeepStrictEqual } from 'node:util';
import { GraftError, GraftInstance, recordsToSnapshot, snapshotToRecords, superjsonSerializer, type GraftOptions } from '../../../index.ts';
import type { TestKnobs } from '../../../graft.ts';
import type { KVOperation, KVResult } from './operations.ts';

/** What a KVStore needs: GraftInstance's options, less the two the store supplies itself. */
export type KVStoreOptions = Omit<GraftOptions<KVOperation, KVResult>, 'applicator' | 'serializer' | 'snapshot' | 'restore'>;

/**
 * A key-value store made replicated by composition: it holds a GraftInstance, and every change goes
 * through `applyOperation`, so every node applies the same changes in the same order.
 */
export class KVStore {
  private readonly data = new Map<string, unknown>();
  readonly graft: GraftInstance<KVOperation, KVResult>;

  /** `knobs`: for Graft's simulations only (see TestKnobs). */
  constructor(options: KVStoreOptions, knobs: TestKnobs = {}) {
    this.graft = new GraftInstance<KVOperation, KVResult>(
      {
        ...options,
        applicator: (op, position) => this.apply(op, position.index),
        serializer: superjsonSerializer<KVOperation>(),
        // The map's pairs are copied here, between two applies; their bytes are made as the snapshot is written.
        snapshot: () => recordsToSnapshot([...this.data]),
        restore: (data) => this.restore(data),
      },
      knobs,
    );
  }

  /** Sets `key`; resolves with the log index the write was applied at. */
  async set(key: string, value: unknown): Promise<number> {
    const result = await this.graft.applyOperation({ kind: 'set', key, value });
    return result.kind === 'written' ? result.index : 0;
  }

  /** Removes `key`; resolves with the log index and whether it was there. */
  async delete(key: string): Promise<{ index: number; existed: boolean }> {
    const result = await this.graft.applyOperation({ kind: 'delete', key });
    return result.kind === 'deleted' ? { index: result.index, existed: result.existed } : { index: 0, existed: false };
  }

  /** Sets `key` to `value` only if it holds `expected` now (deep equality; absent counts as null); resolves with whether it did. */
  async compareAndSet(key: string, expected: unknown, value: unknown): Promise<boolean> {
    const result = await this.graft.applyOperation({ kind: 'cas', key, expected, value });
    return result.kind === 'cas' && result.ok;
  }

  /**
   * Reads `key`. By default the read is linearizable without writing to the log (thesis §6.4): once
   * the read barrier resolves, this node has applied every write acknowledged before the call.
   * `stale: true` reads this node's copy at once: faster, but it may miss recent writes, and a
   * partitioned node may serve old values for as long as the partition lasts.
   */
  async get(key: string, options: { stale?: boolean } = {}): Promise<{ found: boolean; value: unknown }> {
    if (options.stale !== true) await this.graft.readBarrier();
    // A stopped node's copy may be arbitrarily old: it serves no reads, not even stale ones.
    else if (!this.graft.isRunning()) throw new GraftError('SHUTDOWN', `node ${this.graft.id} is not running`);
    return { found: this.data.has(key), value: this.data.get(key) };
  }

  /** A linearizable read through the log: slower than `get` (it costs a replicated write), kept to compare. */
  async getThroughLog(key: string): Promise<{ found: boolean; value: unknown }> {
    const result = await this.graft.applyOperation({ kind: 'get', key });
    return result.kind === 'read' ? { found: result.found, value: result.value } : { found: false, value: undefined };
  }

  /** This node's local copy, possibly stale: for tests and diagnostics. */
  localSnapshot(): ReadonlyMap<string, unknown> {
    return new Map(this.data);
  }

  /** Replaces the whole map with a snapshot's pairs. */
  private async restore(data: AsyncIterable<Uint8Array>): Promise<void> {
    // A restore that fails stops the node, so the map need not survive one half done.
    this.data.clear();
    for await (const [key, value] of snapshotToRecords<[string, unknown]>(data)) this.data.set(key, value);
  }

  /** The state machine: applies one committed operation. Protected so a test can watch it. */
  protected apply(op: KVOperation, index: number): KVResult {
    switch (op.kind) {
      case 'set':
        this.data.set(op.key, op.value);
        return { kind: 'written', index };
      case 'delete':
        return { kind: 'deleted', index, existed: this.data.delete(op.key) };
      case 'cas': {
        // An absent key compares as null, so `cas key null v` creates a key only if it does not exist.
        const current = this.data.has(op.key) ? this.data.get(op.key) : null;
        const ok = isDeepStrictEqual(current, op.expected);
        if (ok) this.data.set(op.key, op.value);
        return { kind: 'cas', ok };
      }
      case 'get':
        return { kind: 'read', found: this.data.has(op.key), value: this.data.get(op.key) };
    }
  }
}
