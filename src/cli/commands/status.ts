import { formatAddress, parseAddress } from '../../config.ts';
import { CliError, expectOk, requestNode } from '../client.ts';

interface NodeStatus {
  id: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  appliedIndex: number;
  members: { id: string; address: string }[];
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

/** `graft configuration`: the members, each one's role as it reports it, and the leader. */
export async function configuration(cluster: string): Promise<void> {
  const first = expectOk(await requestNode(cluster, 'GET', '/status'), 'status') as unknown as NodeStatus;
  console.log(`leader: ${first.leader ?? '(none known)'}   term: ${first.term}`);
  console.log('id'.padEnd(8) + 'address'.padEnd(24) + 'role'.padEnd(12) + 'term'.padEnd(8) + 'commit'.padEnd(10) + 'applied');
  for (const member of first.members) {
    let row: string;
    try {
      const s = expectOk(await requestNode(formatAddress(parseAddress(member.address)), 'GET', '/status', undefined, 2000), 'status') as unknown as NodeStatus;
      row = s.role.padEnd(12) + String(s.term).padEnd(8) + String(s.commitIndex).padEnd(10) + String(s.appliedIndex);
    } catch (error) {
      row = `unreachable (${(error as Error).message})`;
    }
    console.log(member.id.padEnd(8) + member.address.padEnd(24) + row);
  }
}
