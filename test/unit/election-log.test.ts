import { expect } from 'chai';
import type { SoftState } from '../../src/core/types.ts';
import { ElectionLog } from '../../src/runtime/election-log.ts';
import { recordingLogger } from '../helpers/recording-logger.ts';

/** What the log says, as `level message`, for a node that goes through `states` in order. */
function said(states: readonly SoftState[]): string[] {
  const logger = recordingLogger();
  const log = new ElectionLog(logger);
  for (const state of states) log.observe(state);
  return logger.records.map((r) => `${r.level} ${r.message}`);
}

describe('the election log', () => {
  it('an election started and won: pre-vote, candidate, leader', () => {
    expect(
      said([
        { role: 'Follower', term: 1, leader: null },
        { role: 'PreCandidate', term: 1, leader: null },
        { role: 'Candidate', term: 2, leader: null },
        { role: 'Leader', term: 2, leader: '1' },
      ]),
    ).to.deep.equal([
      'info became PreCandidate: asking the voters whether an election could be won (pre-vote)',
      'info became Candidate: election for term 2 started',
      'info became Leader: won the election for term 2',
    ]);
  });

  it('an election lost to another candidate, and one that found no winner and started again', () => {
    expect(
      said([
        { role: 'Candidate', term: 2, leader: null },
        { role: 'Candidate', term: 3, leader: null },
        { role: 'Follower', term: 3, leader: '2' },
      ]),
    ).to.deep.equal([
      'info became Candidate: election for term 2 started',
      'info election for term 3 started: the one for term 2 found no winner',
      'info became Follower: lost the election for term 3; 2 leads term 3',
    ]);
  });

  it('a leader that steps down, and a follower that learns of a new leader', () => {
    expect(
      said([
        { role: 'Leader', term: 4, leader: '1' },
        { role: 'Follower', term: 5, leader: null },
        { role: 'Follower', term: 5, leader: '3' },
        { role: 'Follower', term: 5, leader: '3' },
      ]),
    ).to.deep.equal(['info became Leader: won the election for term 4', 'info became Follower: no longer leader (of term 4)', 'info leader is 3 (term 5)']);
  });

  it('each line carries role, term, leader and the previous role as context', () => {
    const logger = recordingLogger();
    const log = new ElectionLog(logger);
    log.observe({ role: 'Candidate', term: 7, leader: null });
    log.observe({ role: 'Leader', term: 7, leader: '1' });
    expect(logger.records.map((r) => r.context)).to.deep.equal([
      { role: 'Candidate', term: 7, leader: null, previousRole: 'Follower' },
      { role: 'Leader', term: 7, leader: '1', previousRole: 'Candidate' },
    ]);
  });
});
