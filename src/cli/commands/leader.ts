import { formatAddress, parseAddress } from '../../config.ts';
import { CliError, expectOk, requestNode } from '../client.ts';

/** `graft leader transfer [ID]`: finds the leader through any node and asks it to hand over. */
export async function leaderTransfer(cluster: string, id: string | undefined): Promise<void> {
  const status = expectOk(await requestNode(cluster, 'GET', '/status'), 'status') as { leader: string | null; members: { id: string; address: string }[] };
  if (id !== undefined && !status.members.some((m) => m.id === id)) {
    throw new CliError(`machine id "${id}" is not a member (members: ${status.members.map((m) => m.id).join(', ')})`);
  }
  if (status.leader === null) throw new CliError('no leader is known right now; try again in a moment');
  const leader = status.members.find((m) => m.id === status.leader);
  if (leader === undefined) throw new CliError(`the leader ${status.leader} is not in the node's member list`);
  const body = expectOk(
    await requestNode(formatAddress(parseAddress(leader.address)), 'POST', '/admin/leader/transfer', id === undefined ? {} : { id }),
    `transfer leadership from ${leader.id}`,
  );
  console.log(`leader is now ${String(body['leader'])} (was ${leader.id})`);
}
