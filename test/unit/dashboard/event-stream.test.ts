import { expect } from 'chai';
import { formatEvent } from '../../../src/cli/apps/kvstore/dashboard/event-stream.ts';
import { memberStatus } from '../../../src/cli/apps/kvstore/dashboard/peer-status.ts';

describe('dashboard: the event stream format', () => {
  it('is one event line and one data line of JSON, then a blank line, line breaks in strings escaped', () => {
    expect(formatEvent('view', { text: 'a\nb\r\nc', n: 1 })).to.equal('event: view\ndata: {"text":"a\\nb\\r\\nc","n":1}\n\n');
  });

  it('refuses an event name that could break the stream', () => {
    expect(() => formatEvent('view\ndata: x', {})).to.throw('an event name must be letters, digits, "_" or "-", got "view\\ndata: x"');
  });
});

describe("dashboard: reading a member's /status answer", () => {
  const status = {
    id: '2',
    clusterId: 'c',
    role: 'Leader',
    term: 3,
    leader: '2',
    commitIndex: 9,
    appliedIndex: 8,
    firstIndex: 1,
    snapshotIndex: 4,
    members: [],
  };

  it('takes the fields the dashboard shows', () => {
    expect(memberStatus(JSON.stringify(status))).to.deep.equal({
      id: '2',
      role: 'Leader',
      term: 3,
      leader: '2',
      commitIndex: 9,
      appliedIndex: 8,
      snapshotIndex: 4,
    });
  });

  it('takes a missing snapshotIndex as 0, and a null leader', () => {
    const { snapshotIndex: _, ...older } = status;
    expect(memberStatus(JSON.stringify({ ...older, leader: null }))).to.include({ snapshotIndex: 0, leader: null });
  });

  it('refuses what is not a node status', () => {
    for (const text of ['', 'not json', 'null', '[]', '{"error":"no"}', JSON.stringify({ ...status, term: -1 }), JSON.stringify({ ...status, leader: 2 })]) {
      expect(memberStatus(text), text).to.equal(null);
    }
  });
});
