import { expectOk, nodeAddress, requestNode, type Member } from '../client.ts';
import { CliError, UnreachableError } from '../errors.ts';
import { print } from '../output.ts';
import { formatTable } from '../table.ts';

/**
 * How long a membership change may take, in ms: adding a member waits until it has caught up with
 * the log (a minute at most, by default), then for two configuration entries to be committed.
 */
export const MEMBERSHIP_CHANGE_TIMEOUT_MS = 120_000;

/** A member as `GET /members` and the membership endpoints list it. */
export interface MemberInfo {
  readonly id: string;
  readonly address: string;
  readonly role: 'voter' | 'learner';
  readonly matchIndex: number | null;
}

/** `graft member add ID HOST:PORT [--learner]`: asks the leader (found through any node) to add the machine; prints the members. */
export async function memberAdd(cluster: string, id: string, address: string, learner: boolean): Promise<void> {
  const body = { id, address: nodeAddress('HOST:PORT', address), ...(learner ? { learner: true } : {}) };
  const members = await changeMembership(cluster, 'POST', '/admin/members', body, `add member ${id}`);
  const role = members.find((m) => m.id === id)?.role ?? (learner ? 'learner' : 'voter');
  print({ added: id, role, members }, () => [`added ${id} as a ${role}`, ...memberLines(members)]);
}

/** `graft member remove ID`: asks the leader (found through any node) to remove the member; prints the members left. */
export async function memberRemove(cluster: string, id: string): Promise<void> {
  const members = await changeMembership(cluster, 'DELETE', `/admin/members/${encodeURIComponent(id)}`, undefined, `remove member ${id}`);
  print({ removed: id, members }, () => [`removed ${id}`, ...memberLines(members)]);
}

/** The members, one per line: id, address, voter or learner. */
function memberLines(members: readonly MemberInfo[]): string[] {
  return formatTable(
    ['id', 'address', 'suffrage'],
    members.map((m) => [m.id, m.address, m.role]),
  );
}

/** Options of `changeMembership`. */
export interface ChangeOptions {
  /** How long the leader may take to answer (default MEMBERSHIP_CHANGE_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** Cancels the requests under way. */
  readonly signal?: AbortSignal;
  /** How many leaders to try: leadership may move, or an election be under way (default 5). */
  readonly attempts?: number;
}

/**
 * Sends a membership change to the leader, found through `/status` of the node at `cluster`, and
 * resolves with the members the leader answers once the change is committed. When the node asked no
 * longer leads (NOT_LEADER), or no leader is known (an election), it tries again at the leader named,
 * a few times. Any other refusal is a CliError carrying the leader's message.
 */
export async function changeMembership(
  cluster: string,
  method: 'POST' | 'DELETE',
  path: string,
  body: unknown,
  what: string,
  options: ChangeOptions = {},
): Promise<MemberInfo[]> {
  const attempts = options.attempts ?? 5;
  const timeoutMs = options.timeoutMs ?? MEMBERSHIP_CHANGE_TIMEOUT_MS;
  // The node asked who leads, and the leader it named when it refused (null: ask `via` who leads).
  const first = nodeAddress('--cluster', cluster);
  let via = first;
  let named: string | null = null;
  let problem = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await pause(200 * attempt, options.signal);
    let status: { leader: string | null; members: Member[] };
    try {
      status = expectOk(await requestNode(via, 'GET', '/status', undefined, 10_000, options.signal), `status of ${via}`) as typeof status;
    } catch (error) {
      // The node asked last went away (a leader that stopped, say): ask the one given again.
      if (!(error instanceof UnreachableError) || via === first || options.signal?.aborted === true) throw error;
      via = first;
      named = null;
      problem = error.message;
      continue;
    }
    const leaderId: string | null = named ?? status.leader;
    const leader: Member | undefined = status.members.find((m) => m.id === leaderId);
    if (leaderId === null || leader === undefined) {
      problem = leaderId === null ? 'no leader is known right now' : `the leader ${leaderId} is not among the members ${via} lists`;
      named = null;
      continue;
    }
    const answer = await requestNode(leader.address, method, path, body, timeoutMs, options.signal);
    if (answer.body['code'] === 'NOT_LEADER') {
      // Leadership moved: ask the node that refused where it went.
      named = typeof answer.body['leader'] === 'string' && answer.body['leader'] !== leader.id ? answer.body['leader'] : null;
      via = nodeAddress('--cluster', leader.address);
      problem = `node ${leader.id} does not lead any more`;
      continue;
    }
    const members = expectOk(answer, what)['members'];
    if (!Array.isArray(members)) throw new CliError(`${what}: the leader answered without the members`);
    return members as MemberInfo[];
  }
  throw new CliError(`${what} failed: ${problem} (tried ${attempts} times); try again in a moment`);
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
