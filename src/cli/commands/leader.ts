import { expectOk, findMember, requestNode, type Member } from '../client.ts';
import { CliError } from '../errors.ts';
import { print } from '../output.ts';

/** `graft leader transfer [ID]`: finds the leader through any node and asks it to hand over. */
export async function leaderTransfer(cluster: string, id: string | undefined): Promise<void> {
  const status = expectOk(await requestNode(cluster, 'GET', '/status'), 'status') as { leader: string | null; members: Member[] };
  if (id !== undefined) findMember(status.members, id);
  if (status.leader === null) throw new CliError('no leader is known right now; try again in a moment');
  const leader = findMember(status.members, status.leader);
  const body = expectOk(
    await requestNode(leader.address, 'POST', '/admin/leader/transfer', id === undefined ? {} : { id }),
    `transfer leadership from ${leader.id}`,
  );
  print({ leader: body['leader'], previous: leader.id }, () => [`leader is now ${String(body['leader'])} (was ${leader.id})`]);
}
