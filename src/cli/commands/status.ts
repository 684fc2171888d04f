import { formatAddress, parseAddress } from '../../config.ts';
import { expectOk, requestNode, type Member } from '../client.ts';
import { CliError, UnauthorizedError } from '../errors.ts';
import { print, printView } from '../output.ts';
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
  const results: { id: string; index?: unknown; term?: unknown; firstIndex?: unknown; error?: string }[] = [];
  for (const member of first.members) {
    try {
      const taken = expectOk(await requestNode(formatAddress(parseAddress(member.address)), 'POST', '/admin/snapshot'), `snapshot on ${member.id}`);
      results.push({ id: member.id, index: taken['index'], term: taken['term'], firstIndex: taken['firstIndex'] });
    } catch (error) {
      if (error instanceof UnauthorizedError) throw error; // every member would refuse it alike
      results.push({ id: member.id, error: (error as Error).message });
    }
  }
  print({ snapshots: results }, () =>
    results.map((r) =>
      r.error === undefined
        ? `${r.id}: snapshot at index ${String(r.index)} (term ${String(r.term)}); the log now begins at ${String(r.firstIndex)}`
        : `${r.id}: no snapshot: ${r.error}`,
    ),
  );
  const failed = results.filter((r) => r.error !== undefined).map((r) => r.id);
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
  const { data, lines } = await configurationView(cluster);
  print(data, lines);
}

/** `graft configuration --watch`: the same, every second, until interrupted; a node that does not answer is a line of the view, not the end. */
export async function watchConfiguration(cluster: string): Promise<never> {
  for (;;) {
    try {
      const { data, lines } = await configurationView(cluster);
      printView(data, lines);
    } catch (error) {
      if (error instanceof UnauthorizedError) throw error;
      printView({ error: (error as Error).message }, () => [`${new Date().toISOString()} ${(error as Error).message}`]);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function configurationView(cluster: string): Promise<{ data: unknown; lines: () => string[] }> {
  const first = expectOk(await requestNode(cluster, 'GET', '/status'), 'status') as unknown as NodeStatus;
  const members = await Promise.all(
    first.members.map(async (member) => {
      const known = { id: member.id, address: member.address, suffrage: member.role ?? null };
      try {
        const s = expectOk(
          await requestNode(formatAddress(parseAddress(member.address)), 'GET', '/status', undefined, 2000),
          'status',
        ) as unknown as NodeStatus;
        return { ...known, role: s.role, term: s.term, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex };
      } catch (error) {
        return { ...known, unreachable: (error as Error).message };
      }
    }),
  );
  return {
    data: { clusterId: first.clusterId, leader: first.leader, term: first.term, members },
    lines: () => [
      `cluster: ${first.clusterId ?? '(not named yet)'}   leader: ${first.leader ?? '(none known)'}   term: ${first.term}`,
      ...formatTable(
        ['id', 'address', 'suffrage', 'role', 'term', 'commit', 'applied'],
        members.map((m) => {
          const known = [m.id, m.address, m.suffrage ?? '?'];
          return 'unreachable' in m
            ? [...known, `unreachable (${m.unreachable})`]
            : [...known, m.role, String(m.term), String(m.commitIndex), String(m.appliedIndex)];
        }),
      ),
    ],
  };
}
