// Three members of a Graft cluster in one process, each holding a replicated set of counters: the
// TypeScript twin of cluster.js. In this repository: `node --conditions=graft-source --import tsx
// examples/embedded/cluster.ts`; in a project of yours, compile it or run it with tsx.
//
// In production each member runs in its own process, usually on its own machine: the same code,
// with one `new Counters(machineId)` whose id comes from that machine's settings (an environment
// variable, a command-line flag), and a `dataDir` in the configuration so its log survives restarts.
import { GraftInstance, createLogger, jsonSerializer, recordsToSnapshot, snapshotToRecords, type ClusterConfigObject } from 'graft-raft';

type AddOperation = { readonly key: string; readonly amount: number };

const config: ClusterConfigObject = {
  electionTimeout: 150,
  configuration: { 1: '127.0.0.1:9101', 2: '127.0.0.1:9102', 3: '127.0.0.1:9103' },
};

class Counters {
  private readonly counts = new Map<string, number>();
  readonly graft: GraftInstance<AddOperation, number>;

  constructor(machineId: number) {
    this.graft = new GraftInstance<AddOperation, number>({
      config,
      machineId,
      applicator: (op) => this.apply(op), // once per committed operation, in log order, on every member
      serializer: jsonSerializer<AddOperation>(),
      // Optional: a snapshot of the counts lets Graft compact its log; restore replaces them all.
      snapshot: () => recordsToSnapshot([...this.counts]),
      restore: async (data) => {
        this.counts.clear();
        for await (const [key, count] of snapshotToRecords<[string, number]>(data)) this.counts.set(key, count);
      },
      logger: createLogger({ bindings: { node: machineId }, level: 'error' }),
    });
  }

  /** Adds `amount` to `key` on every member; resolves with the new count once applied here. */
  add(key: string, amount: number): Promise<number> {
    return this.graft.applyOperation({ key, amount });
  }

  /** A linearizable read: it sees every add acknowledged before it, on any member. */
  async get(key: string): Promise<number> {
    await this.graft.readBarrier();
    return this.counts.get(key) ?? 0;
  }

  private apply({ key, amount }: AddOperation): number {
    const next = (this.counts.get(key) ?? 0) + amount;
    this.counts.set(key, next);
    return next;
  }
}

const members = [1, 2, 3].map((id) => new Counters(id));
await Promise.all(members.map((member) => member.graft.start()));
await Promise.all(members.map((member) => member.graft.ready()));

// Any member takes writes: a follower forwards them to the leader.
for (let i = 0; i < 9; i++) await members[i % 3]!.add('visits', 1);
for (const member of members) {
  console.log(`member ${member.graft.id} (${member.graft.status().role}) counts ${await member.get('visits')} visits`);
}
const { index } = await members[0]!.graft.snapshot();
console.log(`member 1 took a snapshot at index ${index}`);
await Promise.all(members.map((member) => member.graft.stop()));
