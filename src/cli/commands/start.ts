import { resolve } from 'node:path';
import { loadClusterConfig, validateMachineId, formatAddress } from '../../config.ts';
import { createLogger } from '../../logger.ts';
import { apps, type AppName } from '../apps.ts';

/** `graft start`: runs one node of an app (default kvstore) in the foreground until SIGINT, SIGTERM or `graft stop`. */
export async function start(options: { config: string; id: string; dataDir?: string; app: AppName }): Promise<void> {
  const config = loadClusterConfig(options.config);
  validateMachineId(config, options.id);
  const app = apps[options.app];
  const logger = createLogger(`node ${options.id}`);
  // A node started from the command line always keeps its state on disk.
  const dataDir = resolve(options.dataDir ?? config.dataDir ?? 'data');
  const node = await app.start({ config, id: options.id, dataDir, logger });
  logger.info(`listening on ${formatAddress(config.members.get(options.id)!)} (peers on /raft, clients on ${app.clientPaths})`, {
    app: options.app,
    data: resolve(dataDir, options.id),
  });
  const shutdown = (signal: string): void => {
    logger.info(`${signal} received, stopping`);
    void node.stop();
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  const failure = await node.stopped;
  if (failure !== null) {
    // Exit now and non-zero, whatever is still open, so a supervisor restarts the node.
    console.error(`graft: node ${options.id} stopped after a fatal error: ${failure.message}`);
    process.exit(1);
  }
  logger.info('stopped');
}
