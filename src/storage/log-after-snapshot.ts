import type { Entry, SnapshotMeta } from '../core/types.ts';
import { GraftError } from '../errors.ts';

/**
 * The part of a stored log that a restart keeps beside its newest snapshot (Raft §7, Figure 13):
 * entries after the snapshot when the log holds the snapshot's last entry with the same term, or
 * begins right after it; none when it disagrees or ends before it (a snapshot from the leader
 * replaced it). A log that begins past the snapshot has lost entries: STORAGE_CORRUPT, naming `where`.
 */
export function logAfterSnapshot(entries: readonly Entry[], snapshot: SnapshotMeta | null, where: string): { entries: readonly Entry[]; replaced: boolean } {
  const first = entries[0];
  if (snapshot === null || first === undefined) return { entries, replaced: false };
  if (first.index > snapshot.index + 1) {
    throw new GraftError(
      'STORAGE_CORRUPT',
      `${where}: the log begins at entry ${first.index} but the newest valid snapshot ends at ${snapshot.index}; entries in between are missing. Refusing to start (nothing was changed). Restore this node's data directory from a backup, or remove it to rejoin empty.`,
    );
  }
  if (first.index === snapshot.index + 1) return { entries, replaced: false };
  const at = entries[snapshot.index - first.index];
  if (at === undefined || at.term !== snapshot.term) return { entries: [], replaced: true };
  return { entries: entries.slice(snapshot.index - first.index + 1), replaced: false };
}
