import { expectOk, findMember, requestNode, type Member } from '../client.ts';
import { CliError } from '../errors.ts';

/**
 * `graft stop ID`: asks node ID (found through any node) to shut down cleanly, and waits until it has:
 * a leader hands leadership over first, so the cluster loses no election timeout.
 */
export async function stopNode(cluster: string, id: string, timeoutMs = 15_000): Promise<void> {
  const status = expectOk(await requestNode(cluster, 'GET', '/status'), 'status') as { members: Member[] };
  const { address } = findMember(status.members, id);
  expectOk(await requestNode(address, 'POST', '/admin/stop'), `stop node ${id}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await requestNode(address, 'GET', '/status', undefined, 1000);
    } catch {
      console.log(`node ${id} stopped`);
      return; // its port is closed
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new CliError(`node ${id} was asked to stop but still answers after ${timeoutMs} ms`);
}
