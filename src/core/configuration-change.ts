import type { Configuration } from './membership.ts';
import type { NodeId } from './types.ts';

/**
 * One part of a membership change: add a voter (a new member, or a learner promoted), add a
 * learner (thesis §4.2.1), or remove a member. Several may be asked for at once.
 */
export type ConfigChange =
  | { readonly type: 'add-voter'; readonly id: NodeId; readonly address: string }
  | { readonly type: 'add-learner'; readonly id: NodeId; readonly address: string }
  | { readonly type: 'remove'; readonly id: NodeId };

/** Why a change cannot be made, in words for the operator, with a machine-readable kind. */
export interface ChangeRefusal {
  readonly reason: 'in-flight' | 'invalid';
  readonly message: string;
}

/**
 * The configuration that `changes` lead to from `current` (thesis §4.3). When the voters change, the
 * result is joint: the new voters as `voters`, the old ones as `outgoing`, so that every decision
 * needs both majorities until the leader replaces it with the new configuration alone (`leaveJoint`).
 * When only learners change, no quorum changes, and the result takes effect alone.
 */
export function applyChanges(current: Configuration, changes: readonly ConfigChange[]): Configuration | ChangeRefusal {
  if (current.outgoing.length > 0) return { reason: 'in-flight', message: 'a joint configuration is in force; the change before this one is not finished' };
  if (changes.length === 0) return invalid('no change asked for');
  const voters = new Set(current.voters);
  const learners = new Set(current.learners);
  const addresses: Record<NodeId, string> = { ...current.addresses };
  const seen = new Set<NodeId>();
  for (const change of changes) {
    if (seen.has(change.id)) return invalid(`machine id ${change.id} appears twice in one change`);
    seen.add(change.id);
    if (change.type === 'remove') {
      if (!voters.delete(change.id) && !learners.delete(change.id)) return invalid(`machine id ${change.id} is not a member`);
      continue;
    }
    if (voters.has(change.id)) return invalid(`machine id ${change.id} is a voter already`);
    const promotion = learners.has(change.id) && change.type === 'add-voter';
    if (learners.has(change.id) && !promotion) return invalid(`machine id ${change.id} is a learner already`);
    if (promotion && change.address !== addresses[change.id]) {
      return invalid(`machine id ${change.id} is a learner at ${addresses[change.id]}, not at ${change.address}`);
    }
    const user = Object.entries(addresses).find(([id, address]) => address === change.address && id !== change.id);
    if (user !== undefined && (voters.has(user[0]) || learners.has(user[0]))) return invalid(`address ${change.address} is used by machine id ${user[0]}`);
    learners.delete(change.id);
    (change.type === 'add-voter' ? voters : learners).add(change.id);
    addresses[change.id] = change.address;
  }
  if (voters.size === 0) return invalid('the change would leave no voter: a cluster needs at least one');
  const changedVoters = voters.size !== current.voters.length || current.voters.some((id) => !voters.has(id));
  const next: Configuration = {
    voters: [...voters].sort(),
    outgoing: changedVoters ? [...current.voters].sort() : [],
    learners: [...learners].sort(),
    addresses: {},
  };
  return withIdentity({ ...next, addresses: addressesOf(next, addresses) }, current);
}

/** The second step of a joint change (thesis §4.3): the new voters alone. */
export function leaveJoint(joint: Configuration): Configuration {
  const next: Configuration = { voters: joint.voters, outgoing: [], learners: joint.learners, addresses: {} };
  return withIdentity({ ...next, addresses: addressesOf(next, joint.addresses) }, joint);
}

/** Every configuration carries on the cluster id of the one it follows. */
function withIdentity(next: Configuration, from: Configuration): Configuration {
  return from.cluster === undefined ? next : { ...next, cluster: from.cluster };
}

/** Whether `value` is a refusal rather than what was asked for. */
export function isRefusal<T extends object>(value: T | ChangeRefusal): value is ChangeRefusal {
  return 'reason' in value;
}

function invalid(message: string): ChangeRefusal {
  return { reason: 'invalid', message };
}

/** The addresses of the members of `config` only, so that a departed member's address is forgotten. */
function addressesOf(config: Configuration, known: Readonly<Record<NodeId, string>>): Record<NodeId, string> {
  const out: Record<NodeId, string> = {};
  for (const id of [...config.voters, ...config.outgoing, ...config.learners].sort()) {
    const address = known[id];
    if (address !== undefined) out[id] = address;
  }
  return out;
}
