import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterBenchOptions } from './args.ts';
import { cleanUp, cleanUpOnExit, removeTempDir, tempDir } from './children.ts';
import { directRows } from './direct.ts';
import { measureDisk, type DiskLimit } from './disk.ts';
import { httpRows } from './http.ts';
import { measureLoopback, type LoopbackLimit } from './loopback.ts';
import { ProgressLine } from './progress.ts';
import { measureSkeleton, type SkeletonLimit } from './skeleton.ts';
import { compare, describeMachine, formatReport, type ClusterReport } from './report.ts';
import type { ClusterRow, RowSpec } from './rows.ts';

/** Removes what runs that were killed (SIGKILL: no clean-up) left in `dir`: `cluster-<pid>` of a process that is gone. */
function removeLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(/^cluster-(\d+)$/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

/** Every in-flight count with every size, the smaller operations first. */
const shapes = (inFlight: readonly number[], sizes: readonly number[]): RowSpec[] =>
  sizes.flatMap((opBytes) => inFlight.map((n) => ({ inFlight: n, opBytes })));

/**
 * `npm run bench -- cluster`: the machine's limits, then real clusters of OS processes under load
 * from inside the leader and from HTTP clients, each figure beside the limit it is bounded by.
 * Prints a table (or JSON with `json`); every process it starts is killed, and every file removed, however it ends.
 */
export async function clusterBench(options: ClusterBenchOptions): Promise<ClusterReport> {
  cleanUpOnExit();
  const { parts, sizes, seconds } = options;
  const machine = describeMachine();
  const batches = [...new Set([1, ...(parts.has('direct') ? options.inFlight : []), ...(parts.has('http') ? options.httpInFlight : [])])].sort((a, b) => a - b);
  const direct = parts.has('direct') ? shapes(options.inFlight, sizes) : [];
  const http = parts.has('http') ? shapes(options.httpInFlight, sizes) : [];
  const steps =
    (parts.has('limits') ? sizes.length * batches.length + 1 + options.nodes.length : 0) +
    (direct.length > 0 ? options.nodes.length * options.serializers.length * (direct.length + 2) : 0) +
    (http.length > 0 ? options.nodes.length * (http.length + 2) : 0);
  const progress = new ProgressLine(steps);
  const step = (what: string) => progress.next(what);
  mkdirSync(options.dir, { recursive: true });
  removeLeftovers(options.dir);
  const root = join(options.dir, `cluster-${process.pid}`);
  tempDir(root);
  try {
    const disk: DiskLimit[] = [];
    let loopback: LoopbackLimit[] = [];
    const skeleton: SkeletonLimit[] = [];
    if (parts.has('limits')) {
      for (const opBytes of sizes) {
        for (const batch of batches) {
          step(`disk: ${batch} records of ${opBytes} B per durable write`);
          disk.push(await measureDisk(join(root, 'disk'), opBytes, batch, options.limitSeconds));
        }
      }
      step(`loopback: ws round trip and message rate between two processes, ${sizes.join(' and ')} B`);
      loopback = await measureLoopback(sizes, options.limitSeconds);
      for (const nodes of options.nodes) {
        step(`skeleton: lone durable writes to a majority of ${nodes} processes, no Raft, ${sizes.join(' and ')} B`);
        skeleton.push(...(await measureSkeleton(join(root, `skeleton-${nodes}`), nodes, sizes, options.limitSeconds)));
      }
    }
    const rows: ClusterRow[] = [];
    if (direct.length > 0) {
      if (options.profileDir !== null) mkdirSync(options.profileDir, { recursive: true });
      const execArgv = options.profileDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profileDir];
      for (const size of options.nodes) {
        for (const serializer of options.serializers) rows.push(...(await directRows(size, root, serializer, direct, seconds, step, execArgv)));
      }
    }
    if (http.length > 0) for (const size of options.nodes) rows.push(...(await httpRows(size, root, http, seconds, step)));
    progress.done();
    const report: ClusterReport = { machine, seconds, limits: { disk, loopback, skeleton }, rows: compare(rows, { disk, loopback, skeleton }) };
    if (options.json) console.log(JSON.stringify(report, null, 2));
    else console.log(`\nCluster benchmark\n\n${formatReport(report)}`);
    if (options.profileDir !== null) {
      const leaders = [...new Set(rows.filter((r) => r.client === 'applyOperation').map((r) => `${r.nodes} nodes: pid ${r.leaderPid}`))];
      process.stderr.write(`CPU profiles in ${options.profileDir} (CPU.<date>.<time>.<pid>...cpuprofile); the leaders were ${leaders.join(', ')}\n`);
    }
    return report;
  } finally {
    progress.done();
    removeTempDir(root);
    cleanUp();
  }
}
