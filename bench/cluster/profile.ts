import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { markdownTable } from './report.ts';

/** The parts of a V8 CPU profile (`node --cpu-prof`) read here. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  /** Microseconds from the previous sample to this one. */
  readonly timeDeltas: readonly number[];
}

const START_UP = 'start-up (loading code, tsx)';
const IDLE = 'idle';

/**
 * Where a frame's time goes, by its script: Graft's layers, the libraries it uses, the bench itself.
 * The first rule that matches wins.
 */
const AREAS: readonly [area: string, test: RegExp][] = [
  ['serializer (superjson)', /\/node_modules\/(superjson|copy-anything|is-what)\/|\/(src|dist)\/serializer\.[jt]s$/],
  ['frame encoding and validation', /\/(src|dist)\/transport\/(codec|peer-messages)\.[jt]s$/],
  ['transport (ws)', /\/(src|dist)\/transport\/|\/node_modules\/ws\//],
  ['session layer', /\/(src|dist)\/session\//],
  ['storage (WAL, snapshots)', /\/(src|dist)\/storage\/|\/(src|dist)\/snapshot-records\.[jt]s$/],
  ['Raft core', /\/(src|dist)\/core\//],
  ['runtime', /\/(src|dist)\/runtime\//],
  ['GraftInstance', /\/(src|dist)\/(graft|options|errors|logger)\.[jt]s$/],
  ['bench (load, state machine)', /\/bench\//],
  [START_UP, /\/node_modules\/(tsx|esbuild|get-tsconfig)\//],
];
/** Node's own modules, for time under no frame of the areas above: what they were called for is unknown. */
const NODE_AREAS: readonly [area: string, test: RegExp][] = [
  [START_UP, /^node:internal\/(modules|deps\/cjs-module-lexer|bootstrap)\//],
  ['node: files', /^node:(internal\/)?fs/],
  ['node: sockets and streams', /^node:(net|internal\/(stream_base_commons|streams|net|child_process))/],
  ['node: timers, promises, events', /^node:(internal\/)?(timers|process\/task_queues|events|internal\/process\/promises)/],
];
const SPECIAL: ReadonlyMap<string, string> = new Map([
  ['(garbage collector)', 'garbage collection'],
  ['(idle)', IDLE],
  ['(program)', 'V8 and native, unattributed'],
]);

/** One area's share of a profile. */
export interface AreaTime {
  readonly area: string;
  readonly ms: number;
  /** Of the time the process was busy after start-up (NaN for idle time and start-up). */
  readonly busyShare: number;
}

/**
 * Sums a CPU profile's samples by area: each sample goes to the innermost frame of its stack that
 * belongs to an area, so a builtin (JSON.stringify, a socket write) counts for the code that called it;
 * only a stack with no such frame goes to the innermost of Node's own modules it holds.
 */
export function profileByArea(profile: CpuProfile): AreaTime[] {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const areaOf = new Map<number, string>();
  const classify = (id: number): string => {
    const frame = byId.get(id)!.callFrame;
    const special = SPECIAL.get(frame.functionName);
    if (special !== undefined) return special;
    for (const rules of [AREAS, NODE_AREAS]) {
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const url = byId.get(at)!.callFrame.url;
        for (const [area, test] of rules) if (test.test(url)) return area;
      }
    }
    return 'other';
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    let area = areaOf.get(id);
    if (area === undefined) areaOf.set(id, (area = classify(id)));
    totals.set(area, (totals.get(area) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const counted = (area: string) => area !== IDLE && area !== START_UP;
  const busy = [...totals].filter(([area]) => counted(area)).reduce((sum, [, ms]) => sum + ms, 0);
  return [...totals]
    .map(([area, ms]) => ({ area, ms, busyShare: counted(area) ? ms / busy : NaN }))
    .sort((a, b) => Number(counted(b.area)) - Number(counted(a.area)) || b.ms - a.ms);
}

/** `npm run bench -- profile FILE...`: prints each profile's time by area (profiles from `npm run bench -- cluster --profile DIR`). */
export function printProfiles(files: readonly string[]): void {
  if (files.length === 0) throw new Error('npm run bench -- profile FILE.cpuprofile...: give the profiles to summarise');
  for (const file of files) {
    const areas = profileByArea(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
    const total = areas.reduce((sum, a) => sum + a.ms, 0);
    console.log(`\n${basename(file)}: ${(total / 1000).toFixed(1)} s sampled`);
    console.log(
      markdownTable(
        ['area', 'ms', 'of busy time after start-up'],
        areas.map((a) => [a.area, Math.round(a.ms).toLocaleString('en-US'), Number.isNaN(a.busyShare) ? '-' : `${(a.busyShare * 100).toFixed(1)}%`]),
        [false, true, true],
      ),
    );
  }
}
