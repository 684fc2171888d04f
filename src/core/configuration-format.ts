import type { Configuration } from './membership.ts';
import type { NodeId } from './types.ts';

/** At most this many members: bounds what a configuration from a peer or a file may make a node hold. */
const MAX_MEMBERS = 1024;

/**
 * How a configuration is written into a `config` entry's data, and read back. The text is JSON with
 * its lists sorted, so equal configurations are written alike on every node.
 */
export function encodeConfiguration(c: Configuration): string {
  const { voters, outgoing, learners, addresses, cluster } = c;
  return JSON.stringify({
    voters: [...voters].sort(),
    outgoing: [...outgoing].sort(),
    learners: [...learners].sort(),
    addresses,
    ...(cluster === undefined ? {} : { cluster }),
  });
}

/** What a cluster id may be: a name or a UUID, safe to print in a log line and a file. */
export const CLUSTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The configuration a `config` entry carries; throws an Error naming what is wrong. */
export function decodeConfiguration(data: string, where: string): Configuration {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new Error(`${where}: a configuration entry that is not JSON`);
  }
  return parseConfiguration(value, where);
}

/** Checks a configuration read from JSON (an entry, a snapshot's metadata, a peer's frame) field by field. */
export function parseConfiguration(value: unknown, where: string): Configuration {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected a configuration object`);
  const v = value as Record<string, unknown>;
  const voters = idList(v['voters'], `${where}.voters`);
  const outgoing = idList(v['outgoing'] ?? [], `${where}.outgoing`);
  const learners = idList(v['learners'] ?? [], `${where}.learners`);
  if (voters.length === 0) throw new Error(`${where}.voters: a configuration needs at least one voter`);
  const votersOfEither = new Set([...voters, ...outgoing]);
  const both = learners.find((id) => votersOfEither.has(id));
  if (both !== undefined) throw new Error(`${where}: machine id ${both} is both a voter and a learner`);
  if (votersOfEither.size + learners.length > MAX_MEMBERS) throw new Error(`${where}: more than ${MAX_MEMBERS} members`);
  const rawAddresses = v['addresses'] ?? {};
  if (typeof rawAddresses !== 'object' || rawAddresses === null || Array.isArray(rawAddresses)) throw new Error(`${where}.addresses: expected an object`);
  const addresses: Record<NodeId, string> = {};
  const members = new Set([...votersOfEither, ...learners]);
  for (const [id, address] of Object.entries(rawAddresses)) {
    if (!members.has(id)) throw new Error(`${where}.addresses: machine id ${id} is not a member`);
    if (typeof address !== 'string' || address === '' || address.length > 512) throw new Error(`${where}.addresses.${id}: expected an address`);
    addresses[id] = address;
  }
  const cluster = v['cluster'];
  if (cluster === undefined) return { voters, outgoing, learners, addresses };
  if (typeof cluster !== 'string' || !CLUSTER_ID.test(cluster)) throw new Error(`${where}.cluster: expected a cluster id`);
  return { voters, outgoing, learners, addresses, cluster };
}

function idList(value: unknown, where: string): NodeId[] {
  if (!Array.isArray(value) || value.length > MAX_MEMBERS) throw new Error(`${where}: expected a list of machine ids`);
  const ids = value.map((id: unknown, i) => {
    if (typeof id !== 'string' || id === '' || id.length > 256) throw new Error(`${where}[${i}]: expected a machine id`);
    return id;
  });
  if (new Set(ids).size !== ids.length) throw new Error(`${where}: a machine id appears twice`);
  return ids.sort();
}
