import { expect } from 'chai';
import { once } from 'node:events';
import { parseClusterConfig } from '../../src/config.ts';
import { GraftError } from '../../src/errors.ts';
import { GraftInstance, type GraftOptions } from '../../src/graft.ts';
import { silentLogger } from '../../src/logger.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';
import { recordingLogger } from '../helpers/recording-logger.ts';

const single = { electionTimeout: 50, configuration: { 1: '127.0.0.1:1' } };

/** A one-node instance on the in-memory network, applying strings; `overrides` replace any option. */
function lone(overrides: Partial<GraftOptions<unknown, unknown>> = {}): GraftInstance<unknown, unknown> {
  return new GraftInstance<unknown, unknown>({
    config: single,
    machineId: 1,
    applicator: (op) => op,
    serializer: jsonSerializer(),
    logger: silentLogger,
    storage: new MemoryStorage(),
    transport: new MemoryNetwork().transport('1'),
    ...overrides,
  });
}

function refusal(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).to.be.instanceOf(GraftError);
    expect((error as GraftError).code).to.equal('CONFIG_INVALID');
    return (error as Error).message;
  }
  throw new Error('the options were accepted');
}

describe('GraftInstance options', () => {
  it('takes the configuration as a plain object, and a numeric machine id', () => {
    const graft = lone();
    expect(graft.id).to.equal('1');
    expect([...graft.config.members.keys()]).to.deep.equal(['1']);
    expect(graft.config.heartbeatInterval).to.equal(16);
  });

  it('refuses what it cannot run with at construction, naming the option', () => {
    expect(refusal(() => lone({ serializer: undefined as never }))).to.match(/serializer is required: superjsonSerializer\(\), jsonSerializer\(\)/);
    expect(refusal(() => lone({ serializer: {} as never }))).to.match(/serializer is required/);
    expect(refusal(() => lone({ applicator: 'apply' as never }))).to.match(/applicator must be a function/);
    expect(refusal(() => lone({ maxPendingOperations: 0 }))).to.match(/maxPendingOperations must be a whole number of at least 1, got 0/);
    expect(refusal(() => lone({ requestTimeoutMs: 1.5 }))).to.match(/requestTimeoutMs must be a whole number of at least 1, got 1.5/);
    expect(refusal(() => lone({ machineId: 7 }))).to.match(/machine id "7" is not in the configuration/);
    expect(refusal(() => lone({ machineId: {} as never }))).to.match(/machineId must be a string or a number, got object/);
    expect(refusal(() => lone({ config: { ...single, electionTimeout: 'fast' } as never }))).to.equal(
      'GraftInstance options.config: electionTimeout: expected an integer number of milliseconds, got string "fast"',
    );
    expect(refusal(() => lone({ config: { ...single, peers: {} } as never }))).to.match(/GraftInstance options\.config: peers: unknown key/);
    expect(
      refusal(() => lone({ config: parseClusterConfig('electionTimeout: 50\nreadMode: lease\nconfiguration:\n  1: a:1\n'), checkQuorum: false })),
    ).to.match(/readMode "lease" needs checkQuorum/);
  });

  it('takes the snapshot and restore hooks together or not at all', () => {
    const snapshot = (): Iterable<Uint8Array> => [];
    const restore = async (): Promise<void> => {};
    const both = /GraftInstance options: snapshot and restore go together: give both hooks, or neither/;
    expect(refusal(() => lone({ snapshot }))).to.match(both);
    expect(refusal(() => lone({ restore }))).to.match(both);
    expect(refusal(() => lone({ snapshot: 'yes' as never }))).to.match(both);
    expect(refusal(() => lone({ snapshot: 'yes' as never, restore }))).to.match(/GraftInstance options: snapshot must be a function/);
    expect(refusal(() => lone({ snapshot, restore: {} as never }))).to.match(/GraftInstance options: restore must be a function/);
    expect(refusal(() => lone({ snapshot: null as never, restore: null as never }))).to.match(/snapshot must be a function/);
    // Both, or neither, is fine.
    expect(lone({ snapshot, restore }).id).to.equal('1');
    expect(lone().id).to.equal('1');
  });

  it('says once, at start, that a node without a data directory keeps nothing across a restart', () => {
    const logger = recordingLogger();
    lone({ storage: undefined as never, logger });
    const warnings = logger.records.filter((r) => r.level === 'warn').map((r) => r.message);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^no data directory: this node keeps its log in memory, and nothing survives a restart/);
  });
});

describe('GraftInstance as a Node citizen', function () {
  this.timeout(10_000);

  it('is an EventEmitter: events.once works, and removing its listener leaves the node working', async () => {
    const graft = lone({
      applicator: (op) => {
        if (op === 'boom') throw new Error('boom');
        return op;
      },
    });
    const leader = once(graft, 'leader');
    await graft.start();
    expect((await leader)[0]).to.equal('1');
    graft.on('error', () => {});
    const failed = await graft.applyOperation('boom').then(
      () => null,
      (e: GraftError) => e.code,
    );
    expect(failed).to.equal('APPLY_FAILED');
    expect(await graft.applyOperation('fine')).to.equal('fine');
    expect(graft.isRunning()).to.equal(true);
    await graft.stop();
  });

  it('ready() resolves once a leader is known, and rejects SHUTDOWN on a stopped instance', async () => {
    const graft = lone();
    const ready = graft.ready();
    await graft.start();
    await ready;
    expect(graft.status().leader).to.equal('1');
    await graft.stop();
    expect(
      await graft.ready().then(
        () => null,
        (e: GraftError) => e.code,
      ),
    ).to.equal('SHUTDOWN');
  });

  it('refuses an operation the serializer cannot encode before it reaches the log', async () => {
    const graft = lone();
    await graft.start();
    await graft.ready();
    await graft.applyOperation('first');
    const before = graft.status().commitIndex;
    const error = await graft.applyOperation(undefined).then(
      () => null,
      (e: GraftError) => e,
    );
    expect(error?.code).to.equal('INVALID_ARGUMENT');
    expect(error?.message).to.equal('the serializer turned the operation into undefined, not text; nothing was sent');
    expect(
      await graft.applyOperation(10n).then(
        () => null,
        (e: GraftError) => e.code,
      ),
    ).to.equal('INVALID_ARGUMENT');
    expect(graft.status().commitIndex).to.equal(before);
    await graft.stop();
  });
});
