import { expect } from 'chai';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import { decodeFrame, encodeFrame, FrameError } from '../../src/transport/codec.ts';

const LIMIT = 1024 * 1024;

const every: PeerMessage[] = [
  { type: 'RequestVote', from: '1', to: '2', term: 3, lastLogIndex: 9, lastLogTerm: 2, transfer: false },
  { type: 'RequestVoteResponse', from: '2', to: '1', term: 3, granted: true },
  {
    type: 'AppendEntries',
    from: '1',
    to: '2',
    term: 3,
    prevLogIndex: 4,
    prevLogTerm: 2,
    leaderCommit: 4,
    readRound: 0,
    entries: [
      { index: 5, term: 3, kind: 'noop', data: '' },
      { index: 6, term: 3, kind: 'normal', data: '{"k":1}' },
    ],
  },
  {
    type: 'AppendEntriesResponse',
    from: '2',
    to: '1',
    term: 3,
    success: false,
    matchIndex: 0,
    rejectedIndex: 4,
    conflictIndex: 2,
    conflictTerm: 2,
    readRound: 0,
  },
  {
    type: 'AppendEntriesResponse',
    from: '2',
    to: '1',
    term: 3,
    success: true,
    matchIndex: 6,
    rejectedIndex: 4,
    conflictIndex: 0,
    conflictTerm: null,
    readRound: 0,
  },
  { type: 'Forward', from: '2', to: '1', id: 7, ops: ['a', 'b'] },
  { type: 'ForwardResponse', from: '1', to: '2', id: 7, positions: [{ index: 7, term: 3 }], error: null },
  { type: 'ForwardResponse', from: '1', to: '2', id: 8, positions: null, error: { code: 'NOT_LEADER', message: 'no', leader: '3' } },
];

function refused(frame: unknown, limit = LIMIT): string {
  try {
    decodeFrame(typeof frame === 'string' ? frame : JSON.stringify(frame), limit);
  } catch (error) {
    expect(error).to.be.instanceOf(FrameError);
    return (error as Error).message;
  }
  throw new Error('the frame was accepted');
}

describe('codec: peer frames', () => {
  it('round-trips every message type', () => {
    expect(decodeFrame(encodeFrame(every), LIMIT)).to.deep.equal(every);
  });

  it('refuses malformed frames, naming what is wrong and where', () => {
    const vote = every[0]!;
    const append = every[2]! as Extract<PeerMessage, { type: 'AppendEntries' }>;
    const cases: [unknown, RegExp][] = [
      ['{"v":1,"messages":[', /not valid JSON/],
      [[1, 2], /^frame: expected an object, got \[1,2\]/],
      [{ v: 2, messages: [] }, /frame\.v: expected version 1, got 2/],
      [{ v: 1, messages: {} }, /frame\.messages: expected a list/],
      [{ v: 1, messages: [{ ...vote, type: 'Boom' }] }, /messages\[0\]\.type: unknown message type "Boom"/],
      [{ v: 1, messages: [vote, { ...vote, term: -1 }] }, /messages\[1\]\.term: expected a non-negative integer, got -1/],
      [{ v: 1, messages: [{ ...vote, term: 1.5 }] }, /messages\[0\]\.term: expected a non-negative integer, got 1\.5/],
      [{ v: 1, messages: [{ ...vote, from: '' }] }, /messages\[0\]\.from: expected a machine id/],
      [{ v: 1, messages: [{ ...vote, lastLogTerm: undefined }] }, /messages\[0\]\.lastLogTerm: expected a non-negative integer, got nothing/],
      [{ v: 1, messages: [{ ...every[1]!, granted: 'yes' }] }, /messages\[0\]\.granted: expected true or false/],
      [
        { v: 1, messages: [{ ...append, entries: [{ ...append.entries[0]!, index: 9 }] }] },
        /messages\[0\]\.entries\[0\]\.index: expected 5 \(entries follow prevLogIndex contiguously\), got 9/,
      ],
      [{ v: 1, messages: [{ ...append, entries: [{ ...append.entries[0]!, kind: 'evil' }] }] }, /entries\[0\]\.kind: expected "normal", "noop" or "config"/],
      [{ v: 1, messages: [{ ...append, entries: [{ ...append.entries[0]!, data: 5 }] }] }, /entries\[0\]\.data: expected a string/],
      [{ v: 1, messages: [{ ...every[5]!, ops: ['a', 1] }] }, /messages\[0\]\.ops\[1\]: expected a string/],
      [{ v: 1, messages: [{ ...every[7]!, error: { code: 1 } }] }, /messages\[0\]\.error\.code: expected a string/],
    ];
    for (const [frame, pattern] of cases) expect(refused(frame)).to.match(pattern);
  });

  it('refuses numbers beyond what a node can store and still elect after: terms over 2^47, indexes over 2^48 - 1', () => {
    const vote = every[0]!;
    const append = every[2]! as Extract<PeerMessage, { type: 'AppendEntries' }>;
    expect(refused({ v: 1, messages: [{ ...vote, term: 2 ** 48 }] })).to.match(
      /messages\[0\]\.term: 281474976710656 is beyond the largest term a node can hold \(140737488355328\)/,
    );
    expect(refused({ v: 1, messages: [{ ...vote, term: 2 ** 48 - 1 }] })).to.match(/messages\[0\]\.term: 281474976710655 is beyond/);
    expect(refused({ v: 1, messages: [{ ...every[3]!, matchIndex: 2 ** 48 }] })).to.match(
      /messages\[0\]\.matchIndex: 281474976710656 is beyond the largest log index a node can hold \(281474976710655\)/,
    );
    expect(refused({ v: 1, messages: [{ ...append, prevLogIndex: 2 ** 48 - 1, entries: [{ ...append.entries[0]!, index: 2 ** 48 }] }] })).to.match(
      /entries\[0\]\.index: 281474976710656 is beyond/,
    );
    // At the limits themselves, frames are accepted.
    const atLimit = { ...vote, term: 2 ** 47, lastLogIndex: 2 ** 48 - 1 };
    expect(decodeFrame(encodeFrame([atLimit]), LIMIT)).to.deep.equal([atLimit]);
  });

  it('refuses a frame over the size limit before parsing it', () => {
    expect(refused(encodeFrame(every), 100)).to.match(/frame of \d+ bytes is over the limit of 100/);
  });
});
