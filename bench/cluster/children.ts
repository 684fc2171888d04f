import { fork, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Protocol, Reply, Request } from './rpc.ts';

/**
 * How `npm run bench` runs its own TypeScript: through tsx. 'graft-raft' resolves to the package as
 * users get it, the built dist/ (the bench script builds it first), not to src/ through tsx, whose
 * transform adds work of its own to every closure Graft creates.
 */
export const NODE_FLAGS: readonly string[] = ['--import', import.meta.resolve('tsx')];

/** A preload that ends a spawned process when the bench process that started it goes away. */
const EXIT_WITH_PARENT = import.meta.resolve('./exit-with-parent.ts');

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** How many of a child's last output lines are kept, to show when it fails. */
const TAIL_LINES = 40;

/** A process the bench started: its last lines of output, and calls over its IPC channel when it was forked. */
export class Child<P extends Protocol = Protocol> {
  private readonly tail: string[] = [];
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextRid = 1;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    running.add(child);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > TAIL_LINES) this.tail.shift();
      });
    }
    child.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.rid);
      if (waiter === undefined) return;
      this.pending.delete(reply.rid);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(new Error(`${name}: ${reply.error}`));
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        running.delete(child);
        const error = new Error(`${name} exited (${signal ?? `code ${code}`}) before it answered${this.output()}`);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
        resolve();
      }),
    );
  }

  /** Calls `call` in the child and resolves with its result. */
  call<K extends keyof P & string>(call: K, params: P[K]['params']): Promise<P[K]['result']> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || !this.child.connected) {
      return Promise.reject(new Error(`${this.name} is not running${this.output()}`));
    }
    const rid = this.nextRid++;
    return new Promise((resolve, reject) => {
      this.pending.set(rid, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ rid, call, params } satisfies Request);
    });
  }

  /** The child's last lines of output, as a suffix for an error message ('' when it printed nothing). */
  output(): string {
    return this.tail.length === 0 ? '' : `; ${this.name} printed last:\n  ${this.tail.join('\n  ')}`;
  }

  /** Asks a forked child to end (it exits when its channel closes), and kills it if it has not within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Forks `script` (a TypeScript file next to this one) with the bench's flags and `execArgv` after them. */
export function forkScript<P extends Protocol>(name: string, script: string, execArgv: readonly string[] = []): Child<P> {
  const child = fork(fileURLToPath(import.meta.resolve(script)), [], {
    execArgv: [...NODE_FLAGS, ...execArgv],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  return new Child<P>(name, child);
}

/**
 * Spawns a TypeScript program with the bench's flags and an IPC channel that only tells it when the
 * bench process goes away (it then stops as on SIGTERM).
 */
export function spawnScript(name: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', EXIT_WITH_PARENT, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  return new Child(name, child);
}

/** Registers a temporary directory to be removed when the bench ends, however it ends. */
export function tempDir(dir: string): string {
  tempDirs.add(dir);
  return dir;
}

/** Removes a temporary directory now. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Kills every child still running and removes every temporary directory: synchronous, so it can run on exit. */
export function cleanUp(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Cleans up on exit, on SIGINT, SIGTERM and SIGHUP (then exits as the signal would), and on an uncaught error. */
export function cleanUpOnExit(): void {
  process.once('exit', cleanUp);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      cleanUp();
      process.stderr.write(`\n${signal}: the cluster bench stopped; its processes are killed and its files removed\n`);
      process.exit(code);
    });
  }
}
