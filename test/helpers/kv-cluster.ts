import { parseClusterConfig, type ClusterConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { startKvNode, type KvNode } from '../../src/cli/apps/kvstore/node.ts';
import { waitUntil } from './graft-cluster.ts';
import { freePort } from './ports.ts';

/** Three kvstore nodes (HTTP API and peers on one port each) in this process. */
export class KvCluster {
  private constructor(
    readonly config: ClusterConfig,
    readonly nodes: Map<string, KvNode>,
  ) {}

  /** `extraConfig`: more cluster.yaml lines (allowedOrigins, clientTokenFile with an absolute path, ...). */
  static async create(size = 3, extraConfig = ''): Promise<KvCluster> {
    const lines: string[] = [];
    for (let i = 1; i <= size; i++) lines.push(`  ${i}: 127.0.0.1:${await freePort()}`);
    const config = parseClusterConfig(`electionTimeout: 150\nconfiguration:\n${lines.join('\n')}\n${extraConfig}`);
    const nodes = new Map<string, KvNode>();
    for (const id of config.members.keys()) nodes.set(id, await startKvNode({ config, id, logger: silentLogger }));
    return new KvCluster(config, nodes);
  }

  url(id: string, path: string): string {
    const a = this.config.members.get(id)!;
    return `http://${a.host}:${a.port}${path}`;
  }

  async leader(): Promise<string> {
    const instances = [...this.nodes.values()].map((n) => n.store.graft as never);
    let leader: string | null = null;
    await waitUntil(
      instances,
      () => {
        const views = [...this.nodes.values()].map((n) => n.store.graft.status().leader);
        leader = views[0] ?? null;
        return leader !== null && views.every((v) => v === leader);
      },
      'an agreed leader',
    );
    return leader!;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
  }
}
