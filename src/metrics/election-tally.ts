import type { Role } from '../core/types.ts';

/**
 * Counts the elections this node started and won, from the roles and terms the runtime sees. Each
 * election is a term of its own (§5.2), so a term in which this node stood, as Candidate or as
 * Leader (a one-voter cluster wins before anyone sees it campaign), counts once; a term it led in
 * counts once as won. A pre-vote (thesis §9.6) changes no term and is no election.
 */
export class ElectionTally {
  started = 0;
  won = 0;
  private lastStoodIn = -1;
  private lastLedIn = -1;

  /** The runtime saw this node in `role` at `term`. */
  noticed(role: Role, term: number): void {
    if ((role === 'Candidate' || role === 'Leader') && term > this.lastStoodIn) {
      this.lastStoodIn = term;
      this.started++;
    }
    if (role === 'Leader' && term > this.lastLedIn) {
      this.lastLedIn = term;
      this.won++;
    }
  }
}
