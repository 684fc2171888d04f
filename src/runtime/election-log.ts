import type { SoftState } from '../core/types.ts';
import type { Logger } from '../logger.ts';

/**
 * Tells the log about elections, from the soft states the node reports: an election started, won or
 * lost, a leader stepping down, and a follower learning of a new leader. Each line keeps the words
 * `became <Role>` when the role changed, and carries role, term, leader and previous role as context.
 */
export class ElectionLog {
  private last: SoftState = { role: 'Follower', term: 0, leader: null };

  constructor(private readonly logger: Logger) {}

  /** The node's soft state changed (or may have): logs what that means, if anything. */
  observe(next: SoftState): void {
    const previous = this.last;
    this.last = next;
    const context = { role: next.role, term: next.term, leader: next.leader, previousRole: previous.role };
    if (next.role !== previous.role) this.logger.info(context, `became ${next.role}${becauseOf(previous, next)}`);
    else if (next.role === 'Candidate' && next.term !== previous.term) {
      this.logger.info(context, `election for term ${next.term} started: the one for term ${previous.term} found no winner`);
    } else if (next.role === 'Follower' && next.leader !== null && next.leader !== previous.leader) {
      this.logger.info(context, `leader is ${next.leader} (term ${next.term})`);
    }
  }
}

/** What a change of role means for elections, as the tail of `became <Role>`. */
function becauseOf(previous: SoftState, next: SoftState): string {
  const leads = next.leader === null ? '' : `; ${next.leader} leads term ${next.term}`;
  switch (next.role) {
    case 'PreCandidate':
      return ': asking the voters whether an election could be won (pre-vote)';
    case 'Candidate':
      return `: election for term ${next.term} started`;
    case 'Leader':
      return `: won the election for term ${next.term}`;
    case 'Follower':
      if (previous.role === 'Candidate') return `: lost the election for term ${previous.term}${leads}`;
      if (previous.role === 'Leader') return `: no longer leader (of term ${previous.term})${leads}`;
      return leads;
  }
}
