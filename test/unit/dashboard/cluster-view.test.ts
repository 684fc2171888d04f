import { expect } from 'chai';
import { leaderOf, memberChanges, memberViews, type MemberView } from '../../../src/cli/apps/kvstore/dashboard/cluster-view.ts';
import type { PeerAnswer } from '../../../src/cli/apps/kvstore/dashboard/peer-status.ts';
import type { GraftStatus } from '../../../src/index.ts';

const MEMBERS = [
  { id: '1', address: '127.0.0.1:9001', role: 'voter' as const },
  { id: '2', address: '127.0.0.1:9002', role: 'voter' as const },
  { id: '3', address: '127.0.0.1:9003', role: 'learner' as const },
];

function own(fields: Partial<GraftStatus> = {}): GraftStatus {
  return {
    id: '1',
    clusterId: 'c',
    role: 'Follower',
    term: 4,
    leader: '2',
    commitIndex: 90,
    appliedIndex: 88,
    firstIndex: 1,
    snapshotIndex: 0,
    members: MEMBERS,
    ...fields,
  };
}

function up(
  id: string,
  fields: Partial<{ role: string; term: number; leader: string | null; commitIndex: number; appliedIndex: number; snapshotIndex: number }> = {},
): [string, PeerAnswer] {
  return [id, { up: true, status: { id, role: 'Follower', term: 4, leader: '2', commitIndex: 100, appliedIndex: 100, snapshotIndex: 0, ...fields } }];
}

describe('dashboard: the cluster view', () => {
  describe('memberViews', () => {
    it('shows every member of the configuration with its suffrage, the serving node from its own status, the others from their answers', () => {
      const views = memberViews(own(), new Map([up('2', { role: 'Leader', commitIndex: 100 }), up('3', { appliedIndex: 70 })]));
      expect(views.map((m) => [m.id, m.suffrage, m.self, m.state, m.role])).to.deep.equal([
        ['1', 'voter', true, 'up', 'Follower'],
        ['2', 'voter', false, 'up', 'Leader'],
        ['3', 'learner', false, 'up', 'Follower'],
      ]);
      // Lag: the leader's commit index (100) less each member's applied index.
      expect(views.map((m) => m.lag)).to.deep.equal([12, 0, 30]);
    });

    it('shows a member that did not answer as down, with why, and no figures; a member not asked yet as down too', () => {
      const views = memberViews(own(), new Map<string, PeerAnswer>([up('2', { role: 'Leader' }), ['3', { up: false, reason: 'connection refused' }]]));
      expect(views[2]).to.deep.equal({
        id: '3',
        address: '127.0.0.1:9003',
        suffrage: 'learner',
        self: false,
        state: 'down',
        reason: 'connection refused',
        role: null,
        term: null,
        leader: null,
        commitIndex: null,
        appliedIndex: null,
        snapshotIndex: null,
        lag: null,
      });
      expect(memberViews(own(), new Map())[1]).to.include({ state: 'down', reason: 'not asked yet' });
    });

    it('measures no lag while the leader is down or unknown', () => {
      const down = memberViews(own(), new Map<string, PeerAnswer>([['2', { up: false, reason: 'connection refused' }], up('3')]));
      expect(down.map((m) => m.lag)).to.deep.equal([null, null, null]);
      const none = memberViews(own({ leader: null }), new Map([up('2'), up('3')]));
      expect(none.map((m) => m.lag)).to.deep.equal([null, null, null]);
    });

    it('never reports a negative lag (a member that answered after the leader did may be ahead of it)', () => {
      const views = memberViews(own({ leader: '2' }), new Map([up('2', { role: 'Leader', commitIndex: 80 }), up('3', { appliedIndex: 85 })]));
      expect(views.map((m) => m.lag)).to.deep.equal([0, 0, 0]);
    });
  });

  describe('leaderOf', () => {
    it('is the leader the serving node names', () => {
      expect(leaderOf(own({ leader: '3' }), memberViews(own(), new Map([up('2', { role: 'Leader' })])))).to.equal('3');
    });

    it('without one, is the member up that says it leads in the highest term; null when none does', () => {
      const members = memberViews(own({ leader: null }), new Map([up('2', { role: 'Leader', term: 5 }), up('3', { role: 'Leader', term: 6 })]));
      expect(leaderOf(own({ leader: null }), members)).to.equal('3');
      expect(leaderOf(own({ leader: null }), memberViews(own({ leader: null }), new Map([up('2'), up('3')])))).to.equal(null);
    });
  });

  describe('memberChanges', () => {
    const view = (answers: [string, PeerAnswer][], status = own()): MemberView[] => memberViews(status, new Map(answers));
    const refused: PeerAnswer = { up: false, reason: 'connection refused' };

    it('reports a member going down, with why, and coming back up, once each', () => {
      const a = view([up('2'), up('3')]);
      const b = view([['2', refused], up('3')]);
      expect(memberChanges(a, b, 7)).to.deep.equal([{ at: 7, kind: 'connection', text: 'node 2 is down: connection refused' }]);
      expect(memberChanges(b, b, 8)).to.deep.equal([]);
      expect(memberChanges(b, a, 9)).to.deep.equal([{ at: 9, kind: 'connection', text: 'node 2 is up' }]);
    });

    it('on the first view, reports the members that are down from the start, and nothing of those up', () => {
      expect(memberChanges(null, view([up('2'), ['3', refused]]), 1)).to.deep.equal([
        { at: 1, kind: 'connection', text: 'node 3 is down: connection refused' },
      ]);
    });

    it("reports another member's new snapshot, but not the serving node's (reported from its own status)", () => {
      const a = view([up('2', { snapshotIndex: 0 }), up('3', { snapshotIndex: 10 })], own({ snapshotIndex: 0 }));
      const b = view([up('2', { snapshotIndex: 50 }), up('3', { snapshotIndex: 10 })], own({ snapshotIndex: 50 }));
      expect(memberChanges(a, b, 3)).to.deep.equal([{ at: 3, kind: 'snapshot', text: 'node 2 has a new snapshot, up to index 50' }]);
    });

    it('reports no snapshot for a member that comes back up (its snapshots while down are unknown)', () => {
      const a = view([['2', refused], up('3')]);
      const b = view([up('2', { snapshotIndex: 80 }), up('3')]);
      expect(memberChanges(a, b, 4)).to.deep.equal([{ at: 4, kind: 'connection', text: 'node 2 is up' }]);
    });
  });
});
