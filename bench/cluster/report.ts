import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import type { DiskLimit } from './disk.ts';
import type { LoopbackLimit } from './loopback.ts';
import { RATE_WINDOW } from './loopback.ts';
import type { ClusterRow } from './rows.ts';
import type { SkeletonLimit } from './skeleton.ts';

/** The machine the bench ran on. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly os: string;
  readonly memoryBytes: number;
  readonly freeMemoryBytes: number;
  /** The 1-minute load average when the bench started: how busy the shared machine was. */
  readonly loadAverage: number;
}

export function describeMachine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    os: `${process.platform} ${release()}`,
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    loadAverage: loadavg()[0] ?? 0,
  };
}

/** The machine's limits, measured in the same run. */
export interface Limits {
  readonly disk: readonly DiskLimit[];
  readonly loopback: readonly LoopbackLimit[];
  readonly skeleton: readonly SkeletonLimit[];
}

/** A row beside the limits it is compared with; null where the limit was not measured. */
export interface ComparedRow extends ClusterRow {
  readonly vs: {
    /** One sync of one record plus one loopback round trip (medians): no single write can be faster. */
    readonly floorMs: number | null;
    readonly p50OverFloor: number | null;
    /** A lone write through the replication skeleton (median): what Node needs for it without Raft; null for HTTP rows. */
    readonly skeletonMs: number | null;
    readonly p50OverSkeleton: number | null;
    /** The disk's records per second when each sync carries `inFlight` records. */
    readonly diskRecordsPerSec: number | null;
    readonly opsOverDisk: number | null;
    /** Messages of the operation's size echoed per second between two processes, many in flight. */
    readonly loopbackMessagesPerSec: number | null;
    readonly opsOverLoopback: number | null;
  };
}

/** What `--json` prints. */
export interface ClusterReport {
  readonly machine: Machine;
  readonly seconds: number;
  readonly limits: Limits;
  readonly rows: readonly ComparedRow[];
}

const over = (a: number, b: number | null | undefined): number | null => (b === null || b === undefined || b === 0 ? null : a / b);

/** Puts each row beside the limits of its operation size and in-flight count. */
export function compare(rows: readonly ClusterRow[], limits: Limits): ComparedRow[] {
  return rows.map((row) => {
    const disk = (batch: number) => limits.disk.find((d) => d.opBytes === row.opBytes && d.batch === batch);
    const loopback = limits.loopback.find((l) => l.bytes === row.opBytes);
    const single = disk(1);
    const floorMs = single === undefined || loopback === undefined ? null : single.sync.p50Ms + loopback.roundTrip.p50Ms;
    // The skeleton's load is inside its leader, as applyOperation's is: an HTTP row does other work too.
    const skeleton = row.client === 'applyOperation' ? limits.skeleton.find((l) => l.nodes === row.nodes && l.bytes === row.opBytes) : undefined;
    const skeletonMs = skeleton?.write.p50Ms ?? null;
    const diskRecordsPerSec = disk(row.inFlight)?.recordsPerSec ?? null;
    const loopbackMessagesPerSec = loopback?.messagesPerSec ?? null;
    return {
      ...row,
      vs: {
        floorMs,
        p50OverFloor: over(row.latency.p50Ms, floorMs),
        skeletonMs,
        p50OverSkeleton: over(row.latency.p50Ms, skeletonMs),
        diskRecordsPerSec,
        opsOverDisk: over(row.opsPerSec, diskRecordsPerSec),
        loopbackMessagesPerSec,
        opsOverLoopback: over(row.opsPerSec, loopbackMessagesPerSec),
      },
    };
  });
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
/** CPU time per operation: tenths below 100 µs, where builds differ by less than one. */
const micros = (n: number): string => (n < 100 ? n.toFixed(1) : int(n));
const ms = (n: number): string => (n < 1 ? n.toFixed(2) : n < 10 ? n.toFixed(1) : int(n));
const x = (n: number | null): string => (n === null ? '-' : `${n < 0.1 ? n.toFixed(3) : n.toFixed(2)}x`);
const mib = (bytes: number | null): string => (bytes === null ? '-' : `${int(bytes / 2 ** 20)} MiB`);
const size = (bytes: number): string => (bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`);

/** A markdown table, its columns padded so that it reads as well in a terminal; `right` marks right-aligned columns. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  const widths = headers.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** The machine in one line. */
export function machineLine(m: Machine): string {
  return (
    `Machine: ${m.cpu}, ${m.cores} cores, ${int(m.memoryBytes / 2 ** 30)} GiB RAM, ${m.os}, Node ${m.node}; ` +
    `load average ${m.loadAverage.toFixed(2)} at the start (a shared machine: compare figures within one run)`
  );
}

/** The limits table: one column per operation size. */
export function limitsTable(limits: Limits): string {
  const sizes = [...new Set([...limits.disk.map((d) => d.opBytes), ...limits.loopback.map((l) => l.bytes), ...limits.skeleton.map((l) => l.bytes)])].sort(
    (a, b) => a - b,
  );
  const batches = [...new Set(limits.disk.map((d) => d.batch))].sort((a, b) => a - b);
  const cell = (bytes: number, f: (d: DiskLimit) => string, batch: number) => {
    const d = limits.disk.find((l) => l.opBytes === bytes && l.batch === batch);
    return d === undefined ? '-' : f(d);
  };
  const loop = (bytes: number, f: (l: LoopbackLimit) => string) => {
    const l = limits.loopback.find((m) => m.bytes === bytes);
    return l === undefined ? '-' : f(l);
  };
  const rows: string[][] = [];
  rows.push(['disk: durable write of 1 record, ms (p50 / p99)', ...sizes.map((b) => cell(b, (d) => `${ms(d.sync.p50Ms)} / ${ms(d.sync.p99Ms)}`, 1))]);
  for (const batch of batches) {
    rows.push([
      `disk: ${batch} record${batch === 1 ? '' : 's'} per sync: syncs/s, records/s`,
      ...sizes.map((b) => cell(b, (d) => `${int(d.syncsPerSec)}, ${int(d.recordsPerSec)}`, batch)),
    ]);
  }
  rows.push([
    'loopback ws round trip, 1 in flight, ms (p50 / p99)',
    ...sizes.map((b) => loop(b, (l) => `${ms(l.roundTrip.p50Ms)} / ${ms(l.roundTrip.p99Ms)}`)),
  ]);
  rows.push([`loopback ws messages/s, ${int(RATE_WINDOW)} in flight`, ...sizes.map((b) => loop(b, (l) => int(l.messagesPerSec)))]);
  const floor = (bytes: number) => {
    const d = limits.disk.find((l) => l.opBytes === bytes && l.batch === 1);
    const l = limits.loopback.find((m) => m.bytes === bytes);
    return d === undefined || l === undefined ? '-' : ms(d.sync.p50Ms + l.roundTrip.p50Ms);
  };
  rows.push(['floor of one write: 1 sync + 1 round trip, ms (p50s)', ...sizes.map(floor)]);
  for (const nodes of [...new Set(limits.skeleton.map((l) => l.nodes))].sort((a, b) => a - b)) {
    const skeleton = (bytes: number) => {
      const l = limits.skeleton.find((m) => m.nodes === nodes && m.bytes === bytes);
      return l === undefined ? '-' : `${ms(l.write.p50Ms)} / ${ms(l.write.p99Ms)}`;
    };
    rows.push([`skeleton: a lone write to a majority of ${nodes}, no Raft, ms (p50 / p99)`, ...sizes.map(skeleton)]);
  }
  return markdownTable(['limit (measured in this run)', ...sizes.map((b) => `${size(b)} records`)], rows, [false, ...sizes.map(() => true)]);
}

/** The results table: one line per row, with the ratios to the limits. */
export function resultsTable(rows: readonly ComparedRow[]): string {
  const lines = rows.map((r) => [
    String(r.nodes),
    r.client === 'http' ? 'HTTP PUT' : 'applyOperation',
    r.serializer,
    size(r.opBytes),
    int(r.inFlight),
    int(r.opsPerSec),
    ms(r.latency.p50Ms),
    ms(r.latency.p99Ms),
    ms(r.latency.maxMs),
    mib(r.leaderRssBytes),
    r.cpuPerOp === null ? '-' : `${micros(r.cpuPerOp.leaderUs)} / ${micros(r.cpuPerOp.followerUs)}`,
    // The floor bounds a lone write, and the message rate many in flight: each is shown where it bounds.
    r.inFlight === 1 ? x(r.vs.p50OverFloor) : '',
    r.inFlight === 1 ? x(r.vs.p50OverSkeleton) : '',
    x(r.vs.opsOverDisk),
    r.inFlight === 1 ? '' : x(r.vs.opsOverLoopback),
    [r.errors > 0 ? `${int(r.errors)} errors` : '', r.ledThroughout ? '' : 'leader changed'].filter((n) => n !== '').join(', '),
  ]);
  const notes = lines.some((l) => l[15] !== '');
  const headers = [
    'nodes',
    'client',
    'serializer',
    'op',
    'in flight',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'leader RSS',
    'CPU µs/op leader / follower',
    'p50 / floor',
    'p50 / skeleton',
    'ops/s / disk',
    'ops/s / loopback',
  ];
  const right = [true, false, false, true, true, true, true, true, true, true, true, true, true, true, true];
  return notes
    ? markdownTable([...headers, 'notes'], lines, [...right, false])
    : markdownTable(
        headers,
        lines.map((l) => l.slice(0, 15)),
        right,
      );
}

/** The whole report as text: machine, limits, results, and what the ratio columns mean. */
export function formatReport(report: ClusterReport): string {
  const measured = report.limits.disk.length + report.limits.loopback.length + report.limits.skeleton.length > 0;
  return [
    machineLine(report.machine),
    '',
    ...(measured ? [limitsTable(report.limits), ''] : []),
    ...(report.rows.length > 0 ? [resultsTable(report.rows), ''] : []),
    `${report.seconds} s per row. p50 / floor (1 in flight): the median latency over one disk sync plus one loopback round trip`,
    "(the limits' medians). p50 / skeleton: over the median of a lone write through as many processes that only send, write",
    'durably and answer (no Raft): what Graft adds to what Node needs for the same work (load inside the leader only).',
    'ops/s / disk: over the records/s of syncs that carry as many records as there are operations in flight.',
    `ops/s / loopback (many in flight): over the messages/s of the operation's size between two processes, ${int(RATE_WINDOW)} in flight.`,
    'CPU µs/op: the CPU time (user and system) of the leader and of the busiest follower over the row, per operation;',
    'it moves little with the load of a shared machine, so it compares builds where the latencies do not.',
  ].join('\n');
}
