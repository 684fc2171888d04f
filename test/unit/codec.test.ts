import { votersOnly } from '../../src/core/membership.ts';
import { expect } from 'chai';
import { MAX_TERM } from '../../src/core/limits.ts';
import type { PeerMessage, SnapshotChunk, SnapshotChunkAck } from '../../src/transport/peer-messages.ts';
import fc from 'fast-check';
import { MAX_INDEX } from '../../src/core/limits.ts';
import { checkedEntry, decodeFrame, encodeBinaryFrame, encodeFrame, FrameError, FRAME_VERSION, MAX_LIST, plainEntry } from '../../src/transport/codec.ts';

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
      { index: 7, term: 3, kind: 'session', data: '' },
      { index: 8, term: 3, kind: 'normal', data: '{"k":2}', stamp: { session: 7, seq: 1, lowestOutstanding: 1 } },
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
  {
    type: 'Forward',
    from: '2',
    to: '1',
    id: 7,
    commands: [{ kind: 'session' }, { kind: 'normal', data: 'a' }, { kind: 'normal', data: 'b', stamp: { session: 7, seq: 2, lowestOutstanding: 1 } }],
  },
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
      [{ v: FRAME_VERSION - 1, messages: [] }, new RegExp(`frame\\.v: expected version ${FRAME_VERSION}, got ${FRAME_VERSION - 1}`)],
      [{ v: FRAME_VERSION, messages: {} }, /frame\.messages: expected a list/],
      [{ v: FRAME_VERSION, messages: [{ ...vote, type: 'Boom' }] }, /messages\[0\]\.type: unknown message type "Boom"/],
      [{ v: FRAME_VERSION, messages: [vote, { ...vote, term: -1 }] }, /messages\[1\]\.term: expected a non-negative integer, got -1/],
      [{ v: FRAME_VERSION, messages: [{ ...vote, term: 1.5 }] }, /messages\[0\]\.term: expected a non-negative integer, got 1\.5/],
      [{ v: FRAME_VERSION, messages: [{ ...vote, from: '' }] }, /messages\[0\]\.from: expected a machine id/],
      [{ v: FRAME_VERSION, messages: [{ ...vote, lastLogTerm: undefined }] }, /messages\[0\]\.lastLogTerm: expected a non-negative integer, got nothing/],
      [{ v: FRAME_VERSION, messages: [{ ...every[1]!, granted: 'yes' }] }, /messages\[0\]\.granted: expected true or false/],
      [
        { v: FRAME_VERSION, messages: [{ ...append, entries: [{ ...append.entries[0]!, index: 9 }] }] },
        /messages\[0\]\.entries\[0\]\.index: expected 5 \(entries follow prevLogIndex contiguously\), got 9/,
      ],
      [
        { v: FRAME_VERSION, messages: [{ ...append, entries: [{ ...append.entries[0]!, kind: 'evil' }] }] },
        /entries\[0\]\.kind: expected "normal", "noop", "config" or "session"/,
      ],
      [{ v: FRAME_VERSION, messages: [{ ...append, entries: [{ ...append.entries[0]!, data: 5 }] }] }, /entries\[0\]\.data: expected a string/],
      [{ v: FRAME_VERSION, messages: [{ ...every[7]!, error: { code: 1 } }] }, /messages\[0\]\.error\.code: expected one of Graft's error codes, got 1/],
      [
        { v: FRAME_VERSION, messages: [{ ...every[7]!, error: { code: 'PWNED', message: 'x', leader: null } }] },
        /messages\[0\]\.error\.code: expected one of Graft's error codes, got "PWNED"/,
      ],
      [
        { v: FRAME_VERSION, messages: [{ ...every[7]!, error: { code: 'NOT_LEADER', message: 7, leader: null } }] },
        /messages\[0\]\.error\.message: expected a string/,
      ],
    ];
    for (const [frame, pattern] of cases) expect(refused(frame)).to.match(pattern);
  });

  it('refuses numbers beyond what a node can store and still elect after: terms over 2^47, indexes over 2^48 - 1', () => {
    const vote = every[0]!;
    const append = every[2]! as Extract<PeerMessage, { type: 'AppendEntries' }>;
    expect(refused({ v: FRAME_VERSION, messages: [{ ...vote, term: 2 ** 48 }] })).to.match(
      /messages\[0\]\.term: 281474976710656 is beyond the largest term a node can hold \(140737488355328\)/,
    );
    expect(refused({ v: FRAME_VERSION, messages: [{ ...vote, term: 2 ** 48 - 1 }] })).to.match(/messages\[0\]\.term: 281474976710655 is beyond/);
    expect(refused({ v: FRAME_VERSION, messages: [{ ...every[3]!, matchIndex: 2 ** 48 }] })).to.match(
      /messages\[0\]\.matchIndex: 281474976710656 is beyond the largest log index a node can hold \(281474976710655\)/,
    );
    expect(refused({ v: FRAME_VERSION, messages: [{ ...append, prevLogIndex: 2 ** 48 - 1, entries: [{ ...append.entries[0]!, index: 2 ** 48 }] }] })).to.match(
      /entries\[0\]\.index: 281474976710656 is beyond/,
    );
    // At the limits themselves, frames are accepted.
    const atLimit = { ...vote, term: 2 ** 47, lastLogIndex: 2 ** 48 - 1 };
    expect(decodeFrame(encodeFrame([atLimit]), LIMIT)).to.deep.equal([atLimit]);
  });

  it('refuses a frame over the size limit before parsing it', () => {
    expect(refused(encodeFrame(every), 100)).to.match(/frame of \d+ bytes is over the limit of 100/);
  });

  it('refuses lists longer than any node sends: messages in a frame, entries in an append, commands in a forward', () => {
    const tooMany = MAX_LIST + 1;
    const vote = every[0]!;
    expect(refused({ v: FRAME_VERSION, messages: Array.from({ length: tooMany }, () => vote) }, 64 << 20)).to.equal(
      `frame.messages: ${tooMany} items, over the limit of ${MAX_LIST}`,
    );
    const append = every[2]! as Extract<PeerMessage, { type: 'AppendEntries' }>;
    const many = Array.from({ length: tooMany }, (_, i) => ({ index: append.prevLogIndex + 1 + i, term: append.term, kind: 'noop', data: '' }));
    expect(refused({ v: FRAME_VERSION, messages: [{ ...append, entries: many }] }, 64 << 20)).to.equal(
      `messages[0].entries: ${tooMany} items, over the limit of ${MAX_LIST}`,
    );
    const forward = every.find((m) => m.type === 'Forward')!;
    expect(refused({ v: FRAME_VERSION, messages: [{ ...forward, commands: Array.from({ length: tooMany }, () => ({})) }] }, 64 << 20)).to.equal(
      `messages[0].commands: ${tooMany} items, over the limit of ${MAX_LIST}`,
    );
  });
});

describe('codec: binary frames, as nodes send them', () => {
  const append = every[2] as Extract<PeerMessage, { type: 'AppendEntries' }>;
  const config = { index: 9, term: 3, kind: 'config' as const, data: '{"voters":["1","2","3"],"outgoing":[],"learners":[],"addresses":{}}' };

  function binaryRefused(frame: Buffer, limit = LIMIT): string {
    try {
      decodeFrame(frame, limit);
    } catch (error) {
      expect(error).to.be.instanceOf(FrameError);
      return (error as Error).message;
    }
    throw new Error('the frame was accepted');
  }

  /** A binary frame whose JSON part is `json`, followed by `tail`. */
  function handmade(json: unknown, tail: Buffer = Buffer.alloc(0)): Buffer {
    const text = Buffer.from(JSON.stringify(json));
    const header = Buffer.alloc(6);
    header[1] = FRAME_VERSION;
    header.writeUInt32LE(text.length, 2);
    return Buffer.concat([header, text, tail]);
  }

  it('round-trips every message type, and reads as the JSON encoding of the same messages does', () => {
    const messages: PeerMessage[] = [...every, { ...append, prevLogIndex: 8, entries: [config] }, { ...append, entries: [] }];
    const binary = encodeBinaryFrame(messages);
    expect(binary[0]).to.equal(0);
    expect(decodeFrame(binary, LIMIT)).to.deep.equal(messages);
    expect(decodeFrame(binary, LIMIT)).to.deep.equal(decodeFrame(encodeFrame(messages), LIMIT));
  });

  it('carries data byte for byte: quotes, backslashes, multi-byte characters, and numbers at their limits', () => {
    const data = ['', '"quoted" \\ \n', 'é 中文 😀', '\u0000\u0001', 'x'.repeat(70_000)];
    const stamp = { session: 2 ** 48 - 1, seq: 2 ** 48 - 1, lowestOutstanding: 0 };
    const entries = data.map((d, i) => ({ index: 2 ** 48 - 5 + i, term: MAX_TERM, kind: 'normal' as const, data: d, stamp }));
    const message: PeerMessage = { ...append, term: MAX_TERM, prevLogIndex: 2 ** 48 - 6, entries };
    expect(decodeFrame(encodeBinaryFrame([message]), LIMIT)).to.deep.equal([message]);
  });

  it('refuses a malformed binary frame, naming what is wrong and where', () => {
    const good = encodeBinaryFrame([append]);
    const withByte = (at: number, value: number): Buffer => {
      const copy = Buffer.from(good);
      copy[at] = value;
      return copy;
    };
    // Where the entries begin: after the 6-byte header and the JSON part.
    const entriesAt = 6 + good.readUInt32LE(2);
    const counted = { ...append, entries: append.entries.length };
    expect(binaryRefused(good.subarray(0, 5))).to.equal('binary frame of 5 bytes, shorter than its 6-byte header');
    expect(binaryRefused(withByte(1, FRAME_VERSION + 1))).to.equal(`binary frame: expected version ${FRAME_VERSION}, got ${FRAME_VERSION + 1}`);
    expect(binaryRefused(Buffer.concat([good.subarray(0, 2), Buffer.from([255, 255, 0, 0])]))).to.match(
      /its JSON part would end at byte 65541, after the frame's 6/,
    );
    expect(binaryRefused(good.subarray(0, good.length - 1))).to.equal('messages[0].entries[3]: the bytes end inside this entry');
    expect(binaryRefused(Buffer.concat([good, Buffer.from([1])]))).to.equal('binary frame: 1 bytes after the last entry');
    expect(binaryRefused(withByte(entriesAt + 6, 9))).to.equal('messages[0].entries[0].kind: expected a kind code of 0 to 3, got 9');
    // The first entry is a no-op: a stamp flag on it is refused.
    expect(binaryRefused(withByte(entriesAt + 6, 0x81))).to.equal('messages[0].entries[0].stamp: only a normal entry carries a stamp, this is a noop entry');
    // The term's top byte set: 2^47 + 3, one step past the largest term and then some.
    expect(binaryRefused(withByte(entriesAt + 5, 0x80))).to.equal(
      `messages[0].entries[0].term: ${2 ** 47 + 3} is beyond the largest term a node can hold (${MAX_TERM})`,
    );
    expect(binaryRefused(handmade({ messages: [{ ...counted, entries: 'four' }] }))).to.equal(
      'messages[0].entries: expected a non-negative integer, got "four"',
    );
    expect(binaryRefused(handmade({ messages: [{ ...counted, entries: MAX_LIST + 1 }] }))).to.match(
      /messages\[0\]\.entries: 65537 is beyond the largest count of entries/,
    );
    expect(binaryRefused(handmade({ messages: [{ ...counted, prevLogIndex: 2 ** 48 - 2 }] }))).to.match(
      /entries\[3\]\.index: 281474976710658 is beyond the largest log index/,
    );
    expect(binaryRefused(handmade({ messages: {} }))).to.match(/frame\.messages: expected a list/);
    expect(binaryRefused(Buffer.concat([Buffer.from([0, FRAME_VERSION, 3, 0, 0, 0]), Buffer.from('{"m')]))).to.match(/frame is not valid JSON/);
  });

  it('refuses a session entry with data and a config entry that is not a configuration', () => {
    const one = (entry: { kind: string; data: string }): Buffer =>
      encodeBinaryFrame([{ ...append, entries: [{ index: 5, term: 3, ...entry } as (typeof append.entries)[number]] }]);
    expect(binaryRefused(one({ kind: 'session', data: 'x' }))).to.equal('messages[0].entries[0].data: expected no data on a session entry, got 1 bytes');
    expect(binaryRefused(one({ kind: 'config', data: '{"voters":[]}' }))).to.match(/messages\[0\]\.entries\[0\]\.data.*voter/);
  });

  it('a node never sends a number the frame cannot hold: such a term is refused at the sender', () => {
    expect(() => encodeBinaryFrame([{ ...append, entries: [{ index: 5, term: 2 ** 48, kind: 'noop', data: '' }] }])).to.throw(FrameError, /cannot write term/);
  });
});

describe('codec: snapshot chunks', () => {
  const chunk: SnapshotChunk = {
    type: 'SnapshotChunk',
    from: '1',
    to: '2',
    term: 4,
    snapshot: { index: 100, term: 3, configuration: votersOnly(['1', '2', '3']) },
    readRound: 7,
    attempt: 2,
    offset: 262144,
    data: Buffer.from('some state bytes \u0000\u00ff').toString('base64'),
    done: false,
  };
  const last: SnapshotChunk = { ...chunk, offset: 524288, data: '', done: true };
  const ack: SnapshotChunkAck = { type: 'SnapshotChunkAck', from: '2', to: '1', index: 100, attempt: 2, received: 262144, saved: false, refused: null };
  const refusal: SnapshotChunkAck = { ...ack, received: 0, refused: "its term 4 is behind this node's 9" };
  /** The largest data a chunk may carry: base64 of 1 MiB. */
  const maxData = Math.ceil((1 << 20) / 3) * 4;

  it('round-trips SnapshotChunk and SnapshotChunkAck', () => {
    const messages: PeerMessage[] = [chunk, last, ack, refusal, { ...ack, received: 524288, saved: true }];
    expect(decodeFrame(encodeFrame(messages), LIMIT)).to.deep.equal(messages);
    // The largest chunk, a term at the limit and a single voter are accepted too.
    const largest: SnapshotChunk = { ...chunk, term: MAX_TERM, snapshot: { ...chunk.snapshot, configuration: votersOnly(['1']) }, data: 'A'.repeat(maxData) };
    expect(decodeFrame(encodeFrame([largest]), 4 * LIMIT)).to.deep.equal([largest]);
  });

  it('refuses a malformed SnapshotChunk or SnapshotChunkAck, naming the field', () => {
    const frame = (m: unknown): unknown => ({ v: FRAME_VERSION, messages: [m] });
    const cases: [unknown, RegExp][] = [
      [frame({ ...chunk, data: 'not base64!' }), /messages\[0\]\.data: expected base64 of at most 1398104 characters, got "not base64!"/],
      [frame({ ...chunk, data: 'ab-_' }), /messages\[0\]\.data: expected base64/],
      [frame({ ...chunk, data: 'AAAA=AAA' }), /messages\[0\]\.data: expected base64/],
      [frame({ ...chunk, data: 42 }), /messages\[0\]\.data: expected base64 of at most \d+ characters, got 42/],
      [frame({ ...chunk, data: 'A'.repeat(maxData + 4) }), /messages\[0\]\.data: expected base64 of at most 1398104 characters/],
      [frame({ ...chunk, snapshot: { index: 100, term: 3 } }), /messages\[0\]\.snapshot\.configuration: expected a configuration object/],
      [
        frame({ ...chunk, snapshot: { ...chunk.snapshot, configuration: votersOnly([]) } }),
        /messages\[0\]\.snapshot\.configuration\.voters: a configuration needs at least one voter/,
      ],
      [
        frame({ ...chunk, snapshot: { ...chunk.snapshot, configuration: { voters: ['1', 2] } } }),
        /messages\[0\]\.snapshot\.configuration\.voters\[1\]: expected a machine id/,
      ],
      [
        frame({ ...chunk, snapshot: { ...chunk.snapshot, configuration: votersOnly(['']) } }),
        /messages\[0\]\.snapshot\.configuration\.voters\[0\]: expected a machine id/,
      ],
      [
        frame({ ...chunk, snapshot: { ...chunk.snapshot, configuration: { voters: ['1'], learners: ['1'] } } }),
        /messages\[0\]\.snapshot\.configuration: machine id 1 is both a voter and a learner/,
      ],
      [frame({ ...chunk, snapshot: null }), /messages\[0\]\.snapshot: expected an object, got null/],
      [frame({ ...chunk, snapshot: { ...chunk.snapshot, index: -1 } }), /messages\[0\]\.snapshot\.index: expected a non-negative integer, got -1/],
      [frame({ ...chunk, offset: -1 }), /messages\[0\]\.offset: expected a non-negative integer, got -1/],
      [frame({ ...chunk, offset: 1.5 }), /messages\[0\]\.offset: expected a non-negative integer, got 1\.5/],
      [frame({ ...chunk, term: MAX_TERM + 1 }), /messages\[0\]\.term: 140737488355329 is beyond the largest term a node can hold \(140737488355328\)/],
      [frame({ ...chunk, snapshot: { ...chunk.snapshot, term: MAX_TERM + 1 } }), /messages\[0\]\.snapshot\.term: 140737488355329 is beyond the largest term/],
      [frame({ ...chunk, readRound: undefined }), /messages\[0\]\.readRound: expected a non-negative integer, got nothing/],
      [frame({ ...chunk, done: 'yes' }), /messages\[0\]\.done: expected true or false/],
      [frame({ ...ack, refused: 5 }), /messages\[0\]\.refused: expected null or a reason, got 5/],
      [frame({ ...ack, refused: undefined }), /messages\[0\]\.refused: expected null or a reason, got nothing/],
      [frame({ ...ack, refused: 'x'.repeat(1025) }), /messages\[0\]\.refused: expected null or a reason/],
      [frame({ ...ack, received: -5 }), /messages\[0\]\.received: expected a non-negative integer, got -5/],
      [frame({ ...ack, index: 2 ** 48 }), /messages\[0\]\.index: 281474976710656 is beyond the largest log index/],
      [frame({ ...ack, saved: 1 }), /messages\[0\]\.saved: expected true or false, got 1/],
    ];
    for (const [f, pattern] of cases) expect(refused(f, 4 * LIMIT)).to.match(pattern);
  });
});

describe('codec: client session fields (thesis §6.3)', () => {
  const frame = (m: unknown): unknown => ({ v: FRAME_VERSION, messages: [m] });
  const stamp = { session: 7, seq: 3, lowestOutstanding: 2 };
  const append = (entries: unknown[]): unknown =>
    frame({ type: 'AppendEntries', from: '1', to: '2', term: 3, prevLogIndex: 4, prevLogTerm: 2, leaderCommit: 4, readRound: 0, entries });
  const forward = (commands: unknown): unknown => frame({ type: 'Forward', from: '2', to: '1', id: 9, commands });

  it('round-trips stamped entries and forwarded commands, stamps at the largest storable numbers included', () => {
    const largest = { session: 2 ** 48 - 1, seq: 2 ** 48 - 1, lowestOutstanding: 2 ** 48 - 1 };
    const messages: PeerMessage[] = [
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
          { index: 5, term: 3, kind: 'normal', data: '"a"', stamp },
          { index: 6, term: 3, kind: 'normal', data: '\u0001op:7:4:2:"b"', stamp: largest },
        ],
      },
      { type: 'Forward', from: '2', to: '1', id: 9, commands: [{ kind: 'normal', data: '', stamp: largest }, { kind: 'session' }] },
    ];
    expect(decodeFrame(encodeFrame(messages), LIMIT)).to.deep.equal(messages);
  });

  it('refuses malformed session fields in entries, naming the field', () => {
    const entry = { index: 5, term: 3, kind: 'normal', data: '"a"' };
    const cases: [unknown, RegExp][] = [
      [append([{ ...entry, stamp: null }]), /messages\[0\]\.entries\[0\]\.stamp: expected an object, got null/],
      [append([{ ...entry, stamp: { ...stamp, seq: -1 } }]), /messages\[0\]\.entries\[0\]\.stamp\.seq: expected a non-negative integer, got -1/],
      [append([{ ...entry, stamp: { ...stamp, session: '7' } }]), /entries\[0\]\.stamp\.session: expected a non-negative integer, got "7"/],
      [append([{ ...entry, stamp: { session: 7, seq: 3 } }]), /entries\[0\]\.stamp\.lowestOutstanding: expected a non-negative integer, got nothing/],
      [
        append([{ ...entry, stamp: { ...stamp, seq: 2 ** 48 } }]),
        /entries\[0\]\.stamp\.seq: 281474976710656 is beyond the largest session number a node can hold/,
      ],
      [append([{ ...entry, kind: 'noop', data: '', stamp }]), /entries\[0\]\.stamp: only a normal entry carries a stamp, this is a noop entry/],
      [append([{ ...entry, kind: 'session', data: '', stamp }]), /entries\[0\]\.stamp: only a normal entry carries a stamp, this is a session entry/],
      [append([{ ...entry, kind: 'session' }]), /entries\[0\]\.data: expected no data on a session entry, got "\\"a\\""/],
      // A configuration entry must hold a configuration a node can use: it changes who votes.
      [append([{ ...entry, kind: 'config', data: 'not json' }]), /entries\[0\]\.data: a configuration entry that is not JSON/],
      [append([{ ...entry, kind: 'config', data: '{"voters":[]}' }]), /entries\[0\]\.data\.voters: a configuration needs at least one voter/],
      [append([{ ...entry, kind: 'config', data: '{"voters":["1"],"learners":["1"]}' }]), /entries\[0\]\.data: machine id 1 is both a voter and a learner/],
      [append([{ ...entry, kind: 'config', data: '{"voters":["1"],"addresses":{"9":"x:1"}}' }]), /entries\[0\]\.data\.addresses: machine id 9 is not a member/],
    ];
    for (const [f, pattern] of cases) expect(refused(f)).to.match(pattern);
  });

  it('refuses malformed forwarded commands, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [forward(undefined), /messages\[0\]\.commands: expected a list, got nothing/],
      [forward(['"a"']), /messages\[0\]\.commands\[0\]: expected an object, got "\\"a\\""/],
      [forward([{ kind: 'session' }, { kind: 'plain', data: 'a' }]), /messages\[0\]\.commands\[1\]\.kind: expected "normal" or "session", got "plain"/],
      [forward([{ kind: 'noop' }]), /commands\[0\]\.kind: expected "normal" or "session", got "noop"/],
      [forward([{ kind: 'normal' }]), /commands\[0\]\.data: expected a string, got nothing/],
      [forward([{ kind: 'normal', data: '\u0001op:7:4:2:"b"' }]), /commands\[0\]\.data: an unstamped operation may not begin with \\u0001/],
      [
        forward([{ kind: 'normal', data: 'a', stamp: { ...stamp, lowestOutstanding: 1.5 } }]),
        /commands\[0\]\.stamp\.lowestOutstanding: expected a non-negative integer, got 1\.5/,
      ],
      [forward([{ kind: 'normal', data: 'a', stamp: { ...stamp, session: 2 ** 53 } }]), /commands\[0\]\.stamp\.session: expected a non-negative integer/],
      [forward([{ kind: 'normal', data: 'a', stamp: { ...stamp, session: 2 ** 48 } }]), /commands\[0\]\.stamp\.session: 281474976710656 is beyond/],
      [forward([{ kind: 'session', stamp }]), /commands\[0\]\.stamp: a session command carries none/],
      [forward([{ kind: 'session', data: '' }]), /commands\[0\]\.data: a session command carries none, got ""/],
    ];
    for (const [f, pattern] of cases) expect(refused(f)).to.match(pattern);
  });

  it('the quick read of an entry agrees with the field-by-field check: never accepts what it refuses, and reads the same entry', () => {
    const number = fc.oneof(
      fc.integer({ min: -2, max: 12 }),
      fc.constantFrom(MAX_TERM, MAX_TERM + 1, MAX_INDEX, MAX_INDEX + 1, 1.5, NaN, 2 ** 53),
      fc.string(),
    );
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const stampish = fc.oneof(
      fc.record({ session: number, seq: number, lowestOutstanding: number }, { requiredKeys: [] }),
      fc.constantFrom<unknown>(null, [], 'stamp', 3),
    );
    const entryish = fc.oneof(
      fc.record(
        {
          index: number,
          term: number,
          kind: fc.constantFrom<unknown>('normal', 'noop', 'session', 'config', 'other', 1),
          data: fc.oneof(fc.string(), fc.constant(''), fc.constantFrom<unknown>(null, 7)),
          stamp: maybe(stampish),
        },
        { requiredKeys: [] },
      ),
      fc.constantFrom<unknown>(null, [], 'entry', 5),
    );
    fc.assert(
      fc.property(entryish, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 3 }), (value, prevLogIndex, i) => {
        const quick = plainEntry(value, prevLogIndex + 1 + i);
        let checked: unknown;
        try {
          checked = checkedEntry(value, prevLogIndex, i, 'entries');
        } catch (error) {
          expect(error).to.be.instanceOf(FrameError);
          expect(quick, 'read quickly what the check refuses').to.equal(null);
          return;
        }
        if (quick !== null) expect(quick).to.deep.equal(checked);
      }),
      { numRuns: 5000 },
    );
  });
});
