import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
/** How a test runs the CLI: its TypeScript source through tsx, with 'graft-raft' resolving to src/ (no build needed). */
const NODE_FLAGS = ['--conditions=graft-source', '--import', TSX] as const;

/**
 * The environment a test runs the CLI in: this one, with log lines as text (GRAFT_LOG_FORMAT=pretty),
 * which the tests' patterns match, although the output is a pipe (JSON by default); `overrides` win,
 * and an undefined value leaves a variable out.
 */
export function cliEnvironment(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, GRAFT_LOG_FORMAT: 'pretty', ...overrides };
}

/** What a finished CLI run printed, and how it exited. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `graft` CLI once and collects its output. `input`, when given, is its standard input (else it has none). */
export function runCli(args: readonly string[], timeoutMs = 30_000, input?: string | Buffer): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const argv = [...NODE_FLAGS, CLI, ...args];
    const child =
      input === undefined
        ? spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnvironment() })
        : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: cliEnvironment() });
    if (input !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => {}); // EPIPE when the CLI exits without reading it all; its exit code tells the story
      child.stdin.end(input);
    }
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`graft ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts the real `graft` CLI with `args` and leaves it running: for commands that do not end on their
 * own (`graft up`). `env` changes its environment (see cliEnvironment).
 */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): NodeProcess {
  const child = spawn(process.execPath, [...NODE_FLAGS, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cliEnvironment(env) });
  return new NodeProcess('cli', '', child);
}

/** One `graft start` process, with a way to await a line of its output. */
export class NodeProcess {
  /** Every line it printed, standard output and standard error together, in order of arrival. */
  readonly lines: string[] = [];
  /** The lines it printed to standard error only. */
  readonly stderrLines: string[] = [];
  private readonly waiters: { pattern: RegExp; resolve: () => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly id: string,
    readonly address: string,
    readonly child: ChildProcess,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (stream === child.stderr) this.stderrLines.push(line);
        if (process.env['GRAFT_TEST_VERBOSE']) console.log(`[${id}] ${line}`);
        for (const w of [...this.waiters]) {
          if (w.pattern.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve();
          }
        }
      });
    }
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves at the first line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    if (this.lines.some((l) => pattern.test(l))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node ${this.id} printed no line matching ${pattern} within ${timeoutMs} ms; it printed:\n${this.lines.join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({
        pattern,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.running()) this.child.kill(signal);
    return this.exited;
  }

  /** Whether the process has neither exited nor been ended by a signal. */
  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** What `GET /status` answers (see src/cli/apps/kvstore/http-api.ts). */
export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

/** Options of `ProcessCluster.create` beyond its size and election timeout. */
export interface ProcessClusterOptions {
  /**
   * Members listed in the configuration, each with a free port, that are never started: a test can
   * connect to the real nodes as one of them. They count towards every quorum.
   */
  readonly absentMembers?: readonly string[];
  /**
   * Runs for each node that will start, before any starts, with the node's data directory (which
   * does not exist yet). If it throws, `create` throws; what it made is the caller's to undo.
   */
  readonly prepare?: (id: string, dataDir: string) => void | Promise<void>;
  /**
   * More top-level keys for `cluster.yaml`, as YAML lines appended after the ones `create` writes,
   * e.g. `readMode: lease`. A key `create` already writes may not appear again (the file is refused).
   */
  readonly extraConfig?: string;
  /** Changes to the environment of every node (see cliEnvironment), e.g. `{ GRAFT_LOG_FORMAT: undefined }` for JSON logs. */
  readonly env?: NodeJS.ProcessEnv;
  /** The app every node hosts (`graft start --app NAME`, also on a restart); default: the kvstore. */
  readonly app?: string;
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than null, undefined or false,
 * and resolves with that; rejects naming `what` after `timeoutMs`.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A cluster of real `graft start` processes on free local ports, with its config in a temp dir. */
export class ProcessCluster {
  readonly nodes = new Map<string, NodeProcess>();

  private constructor(
    readonly dir: string,
    readonly configPath: string,
    readonly addresses: Map<string, string>,
    private readonly env: NodeJS.ProcessEnv = {},
    private readonly app?: string,
  ) {}

  static async create(size: number, electionTimeout = 300, options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'graft-process-'));
    const addresses = new Map<string, string>();
    const absent = options.absentMembers ?? [];
    for (const id of absent) addresses.set(id, `127.0.0.1:${await freePort()}`);
    for (let i = 1; i <= size; i++) addresses.set(String(i), `127.0.0.1:${await freePort()}`);
    const configPath = join(dir, 'cluster.yaml');
    const members = [...addresses].map(([id, a]) => `  ${id}: ${a}`).join('\n');
    const extra = options.extraConfig === undefined ? '' : `${options.extraConfig.trimEnd()}\n`;
    writeFileSync(configPath, `electionTimeout: ${electionTimeout}\nconfiguration:\n${members}\ndataDir: ./data\n${extra}`);
    const cluster = new ProcessCluster(dir, configPath, addresses, options.env, options.app);
    const running = [...addresses.keys()].filter((id) => !absent.includes(id));
    if (options.prepare !== undefined) for (const id of running) await options.prepare(id, cluster.dataDir(id));
    for (const id of running) cluster.start(id);
    await Promise.all([...cluster.nodes.values()].map((n) => n.waitForLine(/listening on/)));
    return cluster;
  }

  start(id: string, extraArgs: readonly string[] = []): NodeProcess {
    const app = this.app === undefined ? [] : ['--app', this.app];
    const child = spawn(process.execPath, [...NODE_FLAGS, CLI, 'start', '--config', this.configPath, '--id', id, ...app, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cliEnvironment({ GRAFT_LOG_LEVEL: 'info', ...this.env }),
    });
    const node = new NodeProcess(id, this.addresses.get(id)!, child);
    this.nodes.set(id, node);
    return node;
  }

  /**
   * Starts machine `id`, which cluster.yaml does not list, on a free port, and has it join the
   * cluster through node `via` (`graft start --address ... --join ...`). Resolves once it listens.
   */
  async join(id: string, via: string): Promise<NodeProcess> {
    const address = `127.0.0.1:${await freePort()}`;
    this.addresses.set(id, address);
    const node = this.start(id, ['--address', address, '--join', this.address(via)]);
    await node.waitForLine(/listening on/);
    return node;
  }

  address(id: string): string {
    return this.addresses.get(id)!;
  }

  /** Where node `id` keeps its files: `<config dir>/data/<id>`. */
  dataDir(id: string): string {
    return join(this.dir, 'data', id);
  }

  /** What node `id` answers to `GET /status`, or null when it does not answer in time. */
  async status(id: string): Promise<NodeStatus | null> {
    try {
      const res = await fetch(`http://${this.address(id)}/status`, { signal: AbortSignal.timeout(2000) });
      return res.status === 200 ? ((await res.json()) as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  /** The leader every node of `ids` names, with its term, once they agree and it says it leads. */
  agreedLeader(ids: readonly string[], timeoutMs = 15_000): Promise<{ leader: string; term: number }> {
    return waitUntil(
      `nodes ${ids.join(', ')} to agree on a leader`,
      async () => {
        const views = await Promise.all(ids.map((id) => this.status(id)));
        const first = views[0];
        if (first === null || first === undefined || first.leader === null || !ids.includes(first.leader)) return null;
        if (views.some((v) => v === null || v.leader !== first.leader || v.term !== first.term)) return null;
        if (views[ids.indexOf(first.leader)]?.role !== 'Leader') return null;
        return { leader: first.leader, term: first.term };
      },
      timeoutMs,
    );
  }

  /** SIGKILLs every node and waits until all have exited; the temp dir stays. */
  async killAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill('SIGKILL')));
  }

  async stop(): Promise<void> {
    await this.killAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
