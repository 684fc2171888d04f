import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SERIALIZERS, type SerializerName } from './rows.ts';

const PARTS = ['limits', 'direct', 'http'] as const;
/** What the cluster bench measures: the machine's limits, load inside the leader, HTTP clients of the kvstore. */
export type Part = (typeof PARTS)[number];

/** The options of `npm run bench -- cluster`. */
export interface ClusterBenchOptions {
  /** Cluster sizes, each a cluster of OS processes. */
  readonly nodes: readonly number[];
  /** How long each row runs. */
  readonly seconds: number;
  /** How long each limit is measured. */
  readonly limitSeconds: number;
  /** Operations in flight, one row each, with proposers inside the leader. */
  readonly inFlight: readonly number[];
  /** Operations in flight, one row each, with HTTP clients. */
  readonly httpInFlight: readonly number[];
  /** Operation sizes, bytes. */
  readonly sizes: readonly number[];
  /** The serializers of the direct rows: a cluster each. */
  readonly serializers: readonly SerializerName[];
  readonly parts: ReadonlySet<Part>;
  readonly json: boolean;
  /** Where the clusters and probes keep their files (removed at the end). */
  readonly dir: string;
  /** When set, each bench node of the direct rows writes a CPU profile (`node --cpu-prof`) here when it stops. */
  readonly profileDir: string | null;
}

export const CLUSTER_USAGE = `npm run -s bench -- cluster [options]   (-s keeps npm's banner off stdout, for --json)
  --nodes 3,5               cluster sizes; each node an OS process
  --seconds 3               seconds per row
  --limit-seconds 2         seconds per limit measured (default: the lesser of 2 and --seconds)
  --in-flight 1,16,256,1024 operations in flight, proposers inside the leader (applyOperation)
  --http-in-flight 1,16,256 operations in flight, keep-alive HTTP clients of the kvstore (PUT /kv/:key)
  --sizes 100,4096          operation sizes, bytes
  --serializers superjson,json  the Serializer of the direct rows' clusters (superjsonSerializer, jsonSerializer)
  --parts limits,direct,http  what to measure
  --json                    print the results as JSON on stdout
  --dir .tmp/bench          where the clusters keep their files (removed at the end)
  --profile DIR             the bench nodes of the direct rows write CPU profiles (--cpu-prof) into DIR`;

function positiveInts(name: string, text: string): number[] {
  const list = text === '' || text === 'none' ? [] : text.split(',').map((s) => Number(s.trim()));
  for (const n of list)
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} takes whole numbers above 0, separated by commas; got ${text}\n${CLUSTER_USAGE}`);
  return list;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, got ${text}\n${CLUSTER_USAGE}`);
  return n;
}

/** Reads the options that follow `cluster`. */
export function parseClusterArgs(args: readonly string[]): ClusterBenchOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      nodes: { type: 'string', default: '3,5' },
      seconds: { type: 'string', default: '3' },
      'limit-seconds': { type: 'string' },
      'in-flight': { type: 'string', default: '1,16,256,1024' },
      'http-in-flight': { type: 'string', default: '1,16,256' },
      sizes: { type: 'string', default: '100,4096' },
      serializers: { type: 'string', default: SERIALIZERS.join(',') },
      parts: { type: 'string', default: PARTS.join(',') },
      json: { type: 'boolean', default: false },
      dir: { type: 'string', default: '.tmp/bench' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(CLUSTER_USAGE);
    process.exit(0);
  }
  const seconds = positive('seconds', values.seconds);
  const parts = values.parts.split(',').map((p) => p.trim());
  for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`--parts takes ${PARTS.join(', ')}; got ${p}\n${CLUSTER_USAGE}`);
  const serializers = values.serializers.split(',').map((s) => s.trim());
  for (const s of serializers) {
    if (!(SERIALIZERS as readonly string[]).includes(s)) throw new Error(`--serializers takes ${SERIALIZERS.join(', ')}; got ${s}\n${CLUSTER_USAGE}`);
  }
  const nodes = positiveInts('nodes', values.nodes);
  if (nodes.some((n) => n > 9)) throw new Error('--nodes: at most 9 nodes per cluster');
  return {
    nodes,
    seconds,
    limitSeconds: values['limit-seconds'] === undefined ? Math.min(2, seconds) : positive('limit-seconds', values['limit-seconds']),
    inFlight: positiveInts('in-flight', values['in-flight']),
    httpInFlight: positiveInts('http-in-flight', values['http-in-flight']),
    sizes: positiveInts('sizes', values.sizes),
    serializers: serializers as SerializerName[],
    parts: new Set(parts as Part[]),
    json: values.json,
    dir: resolve(values.dir),
    profileDir: values.profile === undefined ? null : resolve(values.profile),
  };
}
