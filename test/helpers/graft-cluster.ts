import { parseClusterConfig, type ClusterConfig } from '../../src/config.ts';
import { GraftInstance } from '../../src/graft.ts';
import type { GraftOptions } from '../../src/options.ts';
import { createLogger, silentLogger, type Logger } from '../../src/logger.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import type { Transport } from '../../src/transport/transport.ts';
import { freePort } from './ports.ts';

/** Resolves once `predicate` holds, re-checking whenever one of `instances` emits; rejects after `timeoutMs` naming `what`. */
export function waitUntil(instances: readonly GraftInstance<string, unknown>[], predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!predicate()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      for (const g of instances) for (const e of ['applied', 'role', 'leader'] as const) g.off(e, check);
    };
    for (const g of instances) for (const e of ['applied', 'role', 'leader'] as const) g.on(e, check);
  });
}

/** How a test cluster is built. */
export interface GraftClusterOptions {
  readonly electionTimeout?: number;
  /** A transport per node (e.g. a MemoryNetwork endpoint) instead of WebSockets. */
  readonly transport?: (id: string) => Transport;
  readonly requestTimeoutMs?: number;
  /** How long a leader's addMember waits for a new member to catch up. */
  readonly catchUpTimeoutMs?: number;
  /** A file holding the cluster secret every peer connection must prove (cluster.yaml's `secretFile`). */
  readonly secretFile?: string;
  /** The id the cluster must have (cluster.yaml's `clusterId`). */
  readonly clusterId?: string;
  /** More options for every instance (limits, checkQuorum, ...). */
  readonly instance?: Partial<GraftOptions<string, number>>;
  /** PEM files of the nodes' certificate, key and CA (cluster.yaml's `tls`): peers over wss:// with mutual TLS. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** Where node `id` logs. Default: nowhere (or stderr with DBG set). */
  readonly logger?: (id: string) => Logger;
}

/** A node of a test cluster: its instance, its storage (kept across restarts) and what it applied. */
export interface TestNode {
  graft: GraftInstance<string, number>;
  readonly storage: MemoryStorage;
  applied: string[];
}

/**
 * N GraftInstances on 127.0.0.1 with free ports, each applying string operations into a list.
 * `transport` replaces the WebSocket default (e.g. with a MemoryNetwork endpoint).
 */
export class GraftCluster {
  readonly nodes = new Map<string, TestNode>();

  private constructor(
    readonly config: ClusterConfig,
    private readonly options: GraftClusterOptions,
  ) {}

  static async create(size: number, options: GraftClusterOptions = {}): Promise<GraftCluster> {
    const lines: string[] = [];
    for (let i = 1; i <= size; i++) lines.push(`  ${i}: 127.0.0.1:${await freePort()}`);
    const electionTimeout = options.electionTimeout ?? 150;
    const config = parseClusterConfig(
      `electionTimeout: ${electionTimeout}\nheartbeatInterval: ${Math.floor(electionTimeout / 3)}\nconfiguration:\n${lines.join('\n')}\n` +
        (options.secretFile === undefined ? '' : `secretFile: ${JSON.stringify(options.secretFile)}\n`) +
        (options.clusterId === undefined ? '' : `clusterId: ${options.clusterId}\n`) +
        (options.tls === undefined ? '' : `tls: ${JSON.stringify(options.tls)}\n`),
    );
    const cluster = new GraftCluster(config, options);
    for (const id of config.members.keys()) cluster.nodes.set(id, cluster.build(id, new MemoryStorage()));
    await Promise.all([...cluster.nodes.values()].map((n) => n.graft.start()));
    return cluster;
  }

  /** Where each machine outside the bootstrap configuration listens. */
  readonly outsiders = new Map<string, string>();

  /** Starts machine `id` outside the configuration, on a free port, waiting to be added (GraftOptions.address). */
  async startOutsider(id: string): Promise<{ node: TestNode; address: string }> {
    const address = `127.0.0.1:${await freePort()}`;
    this.outsiders.set(id, address);
    const node = this.build(id, new MemoryStorage());
    this.nodes.set(id, node);
    await node.graft.start();
    return { node, address };
  }

  private build(id: string, storage: MemoryStorage): TestNode {
    const node: TestNode = { storage, applied: [], graft: undefined as unknown as GraftInstance<string, number> };
    const address = this.outsiders.get(id);
    node.graft = new GraftInstance<string, number>({
      config: this.config,
      machineId: id,
      ...(address === undefined ? {} : { address }),
      ...(this.options.catchUpTimeoutMs === undefined ? {} : { catchUpTimeoutMs: this.options.catchUpTimeoutMs }),
      storage,
      logger: this.options.logger?.(id) ?? (process.env['DBG'] ? createLogger({ bindings: { node: id }, defaultLevel: 'info' }) : silentLogger),
      serializer: jsonSerializer<string>(),
      applicator: (op) => node.applied.push(op),
      ...(this.options.transport === undefined ? {} : { transport: this.options.transport(id) }),
      ...(this.options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: this.options.requestTimeoutMs }),
      ...this.options.instance,
    });
    return node;
  }

  node(id: string): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  instances(): GraftInstance<string, unknown>[] {
    return [...this.nodes.values()].map((n) => n.graft as GraftInstance<string, unknown>);
  }

  /** The one leader that every running node agrees on. */
  async agreedLeader(timeoutMs = 10_000): Promise<string> {
    const running = [...this.nodes.values()].filter((n) => n.graft.isRunning());
    let leader: string | null = null;
    await waitUntil(
      this.instances(),
      () => {
        const views = running.map((n) => n.graft.status().leader);
        leader = views[0] ?? null;
        if (leader === null || !views.every((v) => v === leader)) return false;
        const candidate = this.node(leader).graft;
        return candidate.isRunning() && candidate.status().role === 'Leader';
      },
      'a leader every running node agrees on',
      timeoutMs,
    );
    return leader!;
  }

  /** Stops `id` and starts it again on the same storage, with an empty state machine. */
  async restart(id: string): Promise<void> {
    const old = this.node(id);
    await old.graft.stop();
    const fresh = this.build(id, old.storage);
    this.nodes.set(id, fresh);
    await fresh.graft.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.graft.stop()));
  }
}
