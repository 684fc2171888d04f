import { loadClusterConfig, validateMachineId, formatAddress } from '../../config.ts';
import { createLogger } from '../../logger.ts';
import { startKvNode } from '../../../examples/kvstore/main.ts';

/** `graft start`: runs one kvstore node in the foreground until SIGINT or SIGTERM. */
export async function start(options: { config: string; id: string }): Promise<void> {
  const config = loadClusterConfig(options.config);
  validateMachineId(config, options.id);
  const logger = createLogger(`node ${options.id}`);
  const node = await startKvNode({ config, id: options.id, logger });
  logger.info(`listening on ${formatAddress(config.members.get(options.id)!)} (peers on /raft, clients on /kv and /status)`);
  logger.warn('storage is in memory: a restarted node rejoins empty and catches up from its peers');
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      logger.info(`${signal} received, stopping`);
      node.stop().then(resolve, resolve);
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}
