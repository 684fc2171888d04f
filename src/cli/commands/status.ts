import { formatAddress, parseAddress } from '../../config.ts';
import { expectOk, requestNode, type Member } from '../client.ts';
import { CliError, UnauthorizedError } from '../errors.ts';
import { formatTable } from '../table.ts';

interface NodeStatus {
  id: string;
  clusterId: string | null;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  members: Member[];
}

/** `graft snapshot`: every member takes a snapshot now and compacts its log; fails if one could not. */
export async function snapshot(cluster: string): Promise<void> {
  const first = expectOk(await requestNode(cluster, 'GET', '/status'), 'status') as unknown as NodeStatus;
  const failed: string[] = [];
  for (const member of first.members) {
    try {
      const taken = expectOk(await requestNode(formatAddress(parseAddress(member.address)), 'POST', '/admin/snapshot'), `snapshot on ${member.id}`);
      console.log(
        `${member.id}: snapshot at index ${String(taken['index'])} (term ${String(taken['term'])}); the log now begins at ${String(taken['firstIndex'])}`,
      );
    } catch (error) {
      if (error instanceof UnauthorizedError) throw error; // every member would refuse it alike
      failed.push(member.id);
      console.log(`${member.id}: no snapshot: ${(error as Error).message}`);
    }
  }
  if (failed.length > 0) throw new CliError(`no snapshot on ${failed.join(', ')}`);
}

/** `graft status`: one node's own view, as JSON. */
export async function status(cluster: string): Promise<void> {
  console.log(JSON.stringify(expectOk(await requestNode(cluster, 'GET', '/status'), 'status'), null, 2));
}

/**
 * `graft configuration`: the members of the configuration in force as the node asked sees it, each a
 * voter or a learner, with its role, term and indexes as it reports them, and the leader.
 */
export async function configuration(cluster: string): Promise<void> {
  const first = expectOk(await requestNode(cluster, 'GET', '/status'), 'status') as unknown as NodeStatus;
  const rows = await Promise.all(
    first.members.map(async (member): Promise<string[]> => {
      const known = [member.id, member.address, member.role ?? '?'];
      try {
        const s = expectOk(
          await requestNode(formatAddress(parseAddress(member.address)), 'GET', '/status', undefined, 2000),
          'status',
        ) as unknown as NodeStatus;
        return [...known, s.role, String(s.term), String(s.commitIndex), String(s.appliedIndex)];
      } catch (error) {
        return [...known, `unreachable (${(error as Error).message})`];
      }
    }),
  );
  console.log(`cluster: ${first.clusterId ?? '(not named yet)'}   leader: ${first.leader ?? '(none known)'}   term: ${first.term}`);
  for (const line of formatTable(['id', 'address', 'suffrage', 'role', 'term', 'commit', 'applied'], rows)) console.log(line);
}
