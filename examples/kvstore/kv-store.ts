import { GraftInstance, recordsToSnapshot, snapshotToRecords, superjsonSerializer, type GraftOptions } from 'graft-raft';

/** The operations of the store. Values are any value superjson can carry (Map, Date, BigInt too). */
export type KVOperation = { readonly kind: 'set'; readonly key: string; readonly value: unknown } | { readonly kind: 'delete'; readonly key: string };

/** What applying an operation returns: for a delete, whether the key was there. */
export type KVResult = boolean;

/**
 * A key-value store made replicated by composition: it holds a GraftInstance and sends every change
 * through `applyOperation`, so every node applies the same changes in the same order. The applicator
 * (`apply`) is the only code that touches the map.
 */
export class KVStore {
  private readonly data = new Map<string, unknown>();
  readonly graft: GraftInstance<KVOperation, KVResult>;

  /** Takes GraftInstance's options, less the four the store supplies itself. */
  constructor(options: Omit<GraftOptions<KVOperation, KVResult>, 'applicator' | 'serializer' | 'snapshot' | 'restore'>) {
    this.graft = new GraftInstance<KVOperation, KVResult>({
      ...options,
      applicator: (op) => this.apply(op),
      serializer: superjsonSerializer<KVOperation>(),
      // Snapshots let Graft compact the log: copy the pairs now, between two applies; they are encoded as the snapshot is written.
      snapshot: () => recordsToSnapshot([...this.data]),
      restore: async (data) => {
        this.data.clear();
        for await (const [key, value] of snapshotToRecords<[string, unknown]>(data)) this.data.set(key, value);
      },
    });
  }

  /** Sets `key`; resolves once the write is committed and applied on this node. */
  async set(key: string, value: unknown): Promise<void> {
    await this.graft.applyOperation({ kind: 'set', key, value });
  }

  /** Removes `key`; resolves with whether it was there. */
  delete(key: string): Promise<boolean> {
    return this.graft.applyOperation({ kind: 'delete', key });
  }

  /** Reads `key`, linearizably: after `readBarrier`, this node has applied every acknowledged write. */
  async get(key: string): Promise<unknown> {
    await this.graft.readBarrier();
    return this.data.get(key);
  }

  /** The state machine: applies one committed operation. Deterministic, synchronous. */
  private apply(op: KVOperation): KVResult {
    if (op.kind === 'set') {
      this.data.set(op.key, op.value);
      return true;
    }
    return this.data.delete(op.key);
  }
}
