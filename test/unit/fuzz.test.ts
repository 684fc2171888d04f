import { expect } from 'chai';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { CLUSTER_FILE_KEYS, clusterConfigFromObject, parseClusterConfig, type ClusterConfigObject } from '../../src/config.ts';
import { GraftError } from '../../src/errors.ts';
import { decodeFrame, encodeBinaryFrame, encodeFrame, FrameError, FRAME_VERSION } from '../../src/transport/codec.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import { decodeAuth, decodeChallenge, decodeHello } from '../../src/transport/ws/hello.ts';

/**
 * Property tests with generated input for what reads bytes from outside: the frame decoder, the
 * handshake, the configuration loader. Whatever comes in, each either accepts it or refuses it with
 * its own error (FrameError, GraftError CONFIG_INVALID), naming what is wrong; nothing else may
 * escape (a TypeError from a field read as the wrong type would take a connection handler down).
 */
const RUNS = Number(process.env['GRAFT_FUZZ_RUNS'] ?? 3000);
const LIMIT = 1024 * 1024;

/** Valid messages of each shape, for mutation. */
const SAMPLES: PeerMessage[] = [
  { type: 'RequestVote', from: '1', to: '2', term: 3, lastLogIndex: 9, lastLogTerm: 2, transfer: false },
  { type: 'RequestVoteResponse', from: '2', to: '1', term: 3, granted: true },
  { type: 'PreVote', from: '1', to: '2', term: 4, lastLogIndex: 9, lastLogTerm: 2 },
  {
    type: 'AppendEntries',
    from: '1',
    to: '2',
    term: 3,
    prevLogIndex: 4,
    prevLogTerm: 2,
    leaderCommit: 4,
    readRound: 1,
    entries: [
      { index: 5, term: 3, kind: 'normal', data: '{"k":1}', stamp: { session: 2, seq: 1, lowestOutstanding: 1 } },
      { index: 6, term: 3, kind: 'config', data: '{"voters":["1","2","3"],"outgoing":[],"learners":[],"addresses":{}}' },
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
    conflictIndex: 3,
    conflictTerm: 2,
    readRound: 1,
  },
  { type: 'ReadIndex', from: '2', to: '1', term: 3, context: 7 },
  { type: 'ReadIndexResponse', from: '1', to: '2', term: 3, context: 7, index: null },
  { type: 'TimeoutNow', from: '1', to: '2', term: 3 },
];

/** Something that may stand in for a field's value: any JSON, numbers at the edges, or nothing. */
const oddValue = fc.oneof(fc.jsonValue(), fc.constantFrom(undefined, -1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1.5, '', '1', [], {}, null, true, 'x'.repeat(300)));

/** A valid message with one field (at the top, or in its first entry) replaced, or removed. */
const mutatedMessage = fc.tuple(fc.constantFrom(...SAMPLES), fc.nat(), fc.boolean(), oddValue).map(([sample, which, inEntry, value]) => {
  const message = structuredClone(sample) as unknown as Record<string, unknown>;
  const entries = message['entries'] as Record<string, unknown>[] | undefined;
  const target = inEntry && entries !== undefined && entries.length > 0 ? entries[0]! : message;
  const keys = Object.keys(target);
  const key = keys[which % keys.length]!;
  if (value === undefined) delete target[key];
  else target[key] = value;
  return message;
});

/** Runs `decode` on `input`: it must return, or throw an error of `allowed`; any other error is a finding. */
function acceptsOrRefuses(decode: () => unknown, allowed: new (...args: never[]) => Error): boolean {
  try {
    decode();
    return true;
  } catch (error) {
    if (error instanceof allowed) return true;
    throw error;
  }
}

/**
 * Decodes `frame`: it must be refused with a FrameError, or be what it would send, encoding the
 * decoded messages again (with `encode`) giving the same messages.
 */
function refusedOrStable(frame: string | Buffer, encode: (messages: PeerMessage[]) => string | Buffer): boolean {
  let decoded: PeerMessage[];
  try {
    decoded = decodeFrame(frame, LIMIT);
  } catch (error) {
    if (error instanceof FrameError) return true;
    throw error;
  }
  expect(decodeFrame(encode(decoded), LIMIT)).to.deep.equal(decoded);
  return true;
}

describe(`fuzz: generated input never escapes its boundary (${RUNS} runs a property; GRAFT_FUZZ_RUNS for more)`, function () {
  this.timeout(Math.max(20_000, RUNS * 10));

  it('the frame decoder accepts or refuses any bytes, any JSON and any mutation of a valid frame, with a FrameError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => acceptsOrRefuses(() => decodeFrame(Buffer.from(bytes), LIMIT), FrameError)),
      {
        numRuns: RUNS,
      },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => acceptsOrRefuses(() => decodeFrame(JSON.stringify(value) ?? '', LIMIT), FrameError)),
      {
        numRuns: RUNS,
      },
    );
    fc.assert(
      fc.property(fc.array(mutatedMessage, { minLength: 1, maxLength: 3 }), (messages) => {
        return refusedOrStable(JSON.stringify({ v: FRAME_VERSION, messages }), encodeFrame);
      }),
      { numRuns: RUNS },
    );
  });

  it('the binary frame decoder accepts or refuses any bytes and any damage to a valid frame, with a FrameError', () => {
    const binary = fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.concat([Buffer.from([0, FRAME_VERSION]), bytes]));
    fc.assert(
      fc.property(binary, (bytes) => acceptsOrRefuses(() => decodeFrame(bytes, LIMIT), FrameError)),
      { numRuns: RUNS },
    );
    const valid = fc.array(fc.constantFrom(...SAMPLES), { minLength: 1, maxLength: 3 }).map((messages) => encodeBinaryFrame(messages));
    const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(valid, damage, fc.nat(), (frame, changes, cut) => {
        const bytes = Buffer.from(frame);
        for (const [at, value] of changes) bytes[2 + (at % (bytes.length - 2))] = value;
        return refusedOrStable(cut % 3 === 0 ? bytes.subarray(0, cut % bytes.length) : bytes, encodeBinaryFrame);
      }),
      { numRuns: RUNS },
    );
  });

  it('regression: a frame nested deeper than JSON.stringify can follow is refused with a FrameError, not a RangeError', () => {
    // Found by the live frame fuzzer: JSON.parse took 10,000 nested lists, and describing the refused
    // value in the error ran JSON.stringify out of stack.
    for (const text of ['['.repeat(10_000) + ']'.repeat(10_000), `{"v":${FRAME_VERSION},"messages":[${'['.repeat(10_000)}${']'.repeat(10_000)}]}`]) {
      expect(() => decodeFrame(text, LIMIT)).to.throw(FrameError, /nested too deeply to show/);
    }
    const deepEntry = `{"v":${FRAME_VERSION},"messages":[{"type":"TimeoutNow","from":"1","to":"2","term":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}]}`;
    expect(() => decodeFrame(deepEntry, LIMIT)).to.throw(
      FrameError,
      /messages\[0\]\.term: expected a non-negative integer, got an object nested too deeply to show/,
    );
  });

  it('the handshake decoders accept or refuse anything with a FrameError', () => {
    const framed = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.dictionary(fc.constantFrom('hello', 'challenge', 'auth', 'v'), oddValue).map((v) => JSON.stringify({ v: FRAME_VERSION, ...v })),
      fc
        .record({ from: oddValue, to: oddValue, nonce: oddValue, proof: oddValue })
        .map((part) => JSON.stringify({ v: FRAME_VERSION, hello: part, challenge: part, auth: part })),
    );
    fc.assert(
      fc.property(framed, (text) => {
        for (const decode of [decodeHello, decodeChallenge, decodeAuth]) acceptsOrRefuses(() => decode(text), FrameError);
        return true;
      }),
      { numRuns: RUNS },
    );
  });

  it('the configuration loader accepts or refuses any text and any object with CONFIG_INVALID, naming the source', () => {
    const keys = fc.constantFrom(...CLUSTER_FILE_KEYS, 'nonsense');
    const configish = fc.dictionary(keys, fc.oneof(oddValue, fc.dictionary(fc.string({ maxLength: 4 }), oddValue)));
    const refusedProperly = (load: () => unknown): boolean => {
      try {
        load();
        return true;
      } catch (error) {
        if (!(error instanceof GraftError)) throw error;
        expect(error.code).to.equal('CONFIG_INVALID');
        expect(error.message).to.match(/^fuzz\.yaml: /);
        return true;
      }
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          configish.map((c) => stringify(c)),
        ),
        (text) => refusedProperly(() => parseClusterConfig(text, 'fuzz.yaml')),
      ),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(configish, (object) => refusedProperly(() => clusterConfigFromObject(object as unknown as ClusterConfigObject, 'fuzz.yaml'))),
      { numRuns: RUNS },
    );
  });
});
