import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadClusterConfig, formatAddress } from '../../config.ts';
import { apps, type AppName } from '../apps.ts';
import { requestNode } from '../client.ts';
import { CliError } from '../errors.ts';
import { useFallbackTls, useFallbackToken } from '../credentials.ts';

/**
 * `graft up`: runs every member of the configuration on this machine, each as its own `graft start`
 * process, with its output prefixed by its id, and says the cluster runs once a member reports a
 * leader. Ctrl-C (or SIGTERM) stops them all; a second one kills them.
 */
export async function up(options: { config: string; app: AppName }): Promise<void> {
  const config = loadClusterConfig(options.config);
  // Each node runs the way this command runs: the same script under the same Node flags, so the
  // installed `graft` starts compiled JavaScript and `npm start` the TypeScript source through tsx.
  const script = process.argv[1];
  if (script === undefined) throw new Error('graft up: cannot tell which script to start the nodes with');
  // A node's output is a pipe to this command, not a terminal: it logs as this command's output calls for.
  const logFormat = process.env['GRAFT_LOG_FORMAT'] || (process.stdout.isTTY ? 'pretty' : 'json');
  const children = new Map<string, ChildProcess>();
  const exited: Promise<void>[] = [];
  let stopping = false;
  /** Nodes that exited on their own, not stopped by this command. */
  const failed: string[] = [];

  for (const [id, address] of config.members) {
    const child = spawn(process.execPath, [...process.execArgv, script, 'start', '--config', options.config, '--id', id, '--app', options.app], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GRAFT_LOG_FORMAT: logFormat },
    });
    children.set(id, child);
    const prefix = `[${id}] `;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
    }
    exited.push(
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          if (!stopping) {
            console.log(`${prefix}exited (${signal ?? `code ${code}`})`);
            if (code !== 0) failed.push(id);
          }
          resolve();
        }),
      ),
    );
    console.log(`${prefix}starting on ${formatAddress(address)}`);
  }

  // One Ctrl-C stops every node cleanly; a second one kills them.
  const onSignal = (): void => {
    if (!stopping) {
      stopping = true;
      console.log('stopping all nodes (Ctrl-C again to force)');
      for (const child of children.values()) if (child.exitCode === null) child.kill('SIGTERM');
      return;
    }
    console.log('forcing: killing every node');
    for (const child of children.values()) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const allExited = Promise.all(exited);

  useFallbackToken(config.clientToken, `clientTokenFile of ${options.config}`);
  useFallbackTls(config.tls, options.config);
  const leader = await Promise.race([firstLeader([...config.members.values()].map(formatAddress), () => stopping), allExited.then(() => null)]);
  if (leader !== null && !stopping) {
    console.log(
      `cluster of ${children.size} running, leader ${leader}; try: ${apps[options.app].firstCommand} --cluster ${formatAddress([...config.members.values()][0]!)}  (Ctrl-C stops all)`,
    );
  }
  await allExited;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (failed.length > 0)
    throw new CliError(`node${failed.length > 1 ? 's' : ''} ${failed.join(', ')} exited on ${failed.length > 1 ? 'their' : 'its'} own; see the lines above`);
}

/** The leader some member reports, asked every 100 ms until one does; null once `gaveUp` says so. */
async function firstLeader(addresses: readonly string[], gaveUp: () => boolean): Promise<string | null> {
  while (!gaveUp()) {
    const views = await Promise.all(
      addresses.map((address) =>
        requestNode(address, 'GET', '/status', undefined, 1000).then(
          (answer) => (answer.status === 200 && typeof answer.body['leader'] === 'string' ? answer.body['leader'] : null),
          () => null,
        ),
      ),
    );
    const leader = views.find((view) => view !== null);
    if (leader !== undefined && leader !== null) return leader;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}
