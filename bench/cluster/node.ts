// One member of the cluster bench's cluster, in its own process, forked by the bench (cluster/direct.ts):
// a GraftInstance on the public entry, over WebSockets, with durable file storage, and a Map as its
// state machine. The bench drives it over the IPC channel (protocol.ts).
import { createLogger, GraftInstance, jsonSerializer, recordsToSnapshot, snapshotToRecords, superjsonSerializer, type Serializer } from 'graft-raft';
import { closedLoop } from './closed-loop.ts';
import { keyOf } from './rows.ts';
import type { LoadParams, NodeProtocol } from './protocol.ts';
import type { SerializerName } from './rows.ts';
import { serve } from './rpc.ts';

/** The bench's operation: set a key to a string. */
interface SetOp {
  readonly key: string;
  readonly value: string;
}

const serializers: Record<SerializerName, Serializer<SetOp>> = { superjson: superjsonSerializer<SetOp>(), json: jsonSerializer<SetOp>() };
let serializer = serializers.superjson;
const state = new Map<string, string>();
let graft: GraftInstance<SetOp> | null = null;

/** A value that makes the serialized operation `bytes` long (or as short as it can be). */
function valueFor(bytes: number): string {
  const overhead = serializer.toString({ key: keyOf(0), value: '' }).length;
  return 'x'.repeat(Math.max(0, bytes - overhead));
}

function running(): GraftInstance<SetOp> {
  if (graft === null) throw new Error('the node has not been started');
  return graft;
}

async function load(params: LoadParams) {
  const node = running();
  const value = valueFor(params.opBytes);
  const term = node.status().term;
  const result = await closedLoop(params.concurrency, params.seconds, (n) => node.applyOperation({ key: keyOf(n), value }));
  const status = node.status();
  return { ...result, rssBytes: process.memoryUsage().rss, ledThroughout: status.role === 'Leader' && status.term === term };
}

serve<NodeProtocol>({
  start: async ({ id, configuration, electionTimeout, dataDir, serializer: name }) => {
    serializer = serializers[name];
    graft = new GraftInstance<SetOp>({
      config: { electionTimeout, configuration },
      machineId: id,
      dataDir,
      // Warnings and errors go to stderr, which the bench shows if this node fails.
      logger: createLogger({ bindings: { node: id }, level: 'warn' }),
      serializer,
      applicator: (op) => void state.set(op.key, op.value),
      // Snapshots on, with the default policy: the log is compacted as it would be in production.
      snapshot: () => recordsToSnapshot([...state]),
      restore: async (data) => {
        state.clear();
        for await (const [key, value] of snapshotToRecords<[string, string]>(data)) state.set(key, value);
      },
    });
    await graft.start();
    return null;
  },
  view: () => {
    const { role, term, leader } = running().status();
    return { role, term, leader };
  },
  load,
  stop: async () => {
    await graft?.stop();
    return null;
  },
});
