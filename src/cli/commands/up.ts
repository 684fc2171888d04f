import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadClusterConfig, formatAddress } from '../../config.ts';

/**
 * `graft up`: runs every member of the configuration on this machine, each as its own `graft start`
 * process, with its output prefixed by its id. Ctrl-C (or SIGTERM) stops them all.
 */
export async function up(options: { config: string }): Promise<void> {
  const config = loadClusterConfig(options.config);
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const children = new Map<string, ChildProcess>();
  const exited: Promise<void>[] = [];
  let stopping = false;

  for (const [id, address] of config.members) {
    const child = spawn(process.execPath, ['--import', tsx, main, 'start', '--config', options.config, '--id', id], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(id, child);
    const prefix = `[${id}] `;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
    }
    exited.push(new Promise((resolve) => child.once('exit', (code, signal) => {
      if (!stopping) console.log(`${prefix}exited (${signal ?? `code ${code}`})`);
      resolve();
    })));
    console.log(`${prefix}starting on ${formatAddress(address)}`);
  }
  console.log(`cluster of ${children.size} running; try: graft kv set greeting '"hello"' --cluster ${formatAddress([...config.members.values()][0]!)}  (Ctrl-C stops all)`);

  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('stopping all nodes');
    for (const child of children.values()) if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  await Promise.all(exited);
}
