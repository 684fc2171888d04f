import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadClusterConfig, formatAddress } from '../../config.ts';
import type { AppName } from '../apps.ts';

/**
 * `graft up`: runs every member of the configuration on this machine, each as its own `graft start`
 * process, with its output prefixed by its id. Ctrl-C (or SIGTERM) stops them all.
 */
export async function up(options: { config: string; app: AppName }): Promise<void> {
  const config = loadClusterConfig(options.config);
  // Each node runs the way this command runs: the same script under the same Node flags, so the
  // installed `graft` starts compiled JavaScript and `npm start` the TypeScript source through tsx.
  const script = process.argv[1];
  if (script === undefined) throw new Error('graft up: cannot tell which script to start the nodes with');
  const children = new Map<string, ChildProcess>();
  const exited: Promise<void>[] = [];
  let stopping = false;

  for (const [id, address] of config.members) {
    const child = spawn(process.execPath, [...process.execArgv, script, 'start', '--config', options.config, '--id', id, '--app', options.app], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(id, child);
    const prefix = `[${id}] `;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
    }
    exited.push(
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          if (!stopping) console.log(`${prefix}exited (${signal ?? `code ${code}`})`);
          resolve();
        }),
      ),
    );
    console.log(`${prefix}starting on ${formatAddress(address)}`);
  }
  console.log(
    `cluster of ${children.size} running; try: graft kv set greeting '"hello"' --cluster ${formatAddress([...config.members.values()][0]!)}  (Ctrl-C stops all)`,
  );

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
