import { readFileSync } from 'node:fs';

// What the bench reads of its node processes from /proc (Linux): null wherever that cannot be read.

/** The resident set size of process `pid`, bytes. */
export function rssOf(pid: number | undefined): number | null {
  try {
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc/PID/stat's times: USER_HZ, 100 on every Linux that Node runs on. */
const USER_HZ = 100;

/** The CPU time process `pid` has used so far, user and system together, ms. */
export function cpuMsOf(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may hold spaces: the fields are counted after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime] = [Number(fields[11]), Number(fields[12])];
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / USER_HZ : null;
  } catch {
    return null;
  }
}

/** CPU time per operation over a row, µs: of the leader, and of the busiest other member. */
export interface CpuPerOp {
  readonly leaderUs: number;
  readonly followerUs: number;
}

/**
 * Measures the CPU time the members spend on the operations of `run`: unlike latency and
 * throughput, it hardly moves with what else the shared machine is doing, so it compares builds.
 */
export async function measureCpu<T extends { readonly ops: number }>(
  pids: ReadonlyMap<string, number | undefined>,
  leaderId: string,
  run: () => Promise<T>,
): Promise<{ readonly result: T; readonly cpu: CpuPerOp | null }> {
  const before = new Map([...pids].map(([id, pid]) => [id, cpuMsOf(pid)]));
  const result = await run();
  const used = [...pids].map(([id, pid]) => {
    const [start, end] = [before.get(id), cpuMsOf(pid)];
    return { id, ms: start == null || end == null ? null : end - start };
  });
  if (result.ops === 0 || used.some((u) => u.ms === null)) return { result, cpu: null };
  const perOp = (ms: number) => (ms * 1000) / result.ops;
  const leader = used.find((u) => u.id === leaderId)?.ms ?? 0;
  const follower = Math.max(0, ...used.filter((u) => u.id !== leaderId).map((u) => u.ms ?? 0));
  return { result, cpu: { leaderUs: perOp(leader), followerUs: perOp(follower) } };
}
