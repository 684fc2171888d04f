import { expect } from 'chai';
import { hostname } from 'node:os';
import { pino } from 'pino';
import { GraftInstance } from '../../src/graft.ts';
import { createLogger, type LogFormat, type LogLevel } from '../../src/logger.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { MemoryNetwork } from '../../src/transport/memory.ts';

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Runs `body` with the environment variables set (undefined: unset), and puts them back after. */
function withEnvironment(variables: Record<string, string | undefined>, body: () => void): void {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  const set = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  set(variables);
  try {
    body();
  } finally {
    set(saved);
  }
}

/** A logger created under the given environment, writing into the returned list. */
function capture(variables: Record<string, string | undefined>, options: { level?: LogLevel; defaultLevel?: LogLevel; format?: LogFormat } = {}) {
  const lines: string[] = [];
  let logger!: ReturnType<typeof createLogger>;
  withEnvironment({ GRAFT_LOG_LEVEL: undefined, GRAFT_LOG_FORMAT: undefined, ...variables }, () => {
    logger = createLogger({ ...options, bindings: { node: '1' }, write: (line) => lines.push(line) });
  });
  return { logger, lines };
}

describe('logger', () => {
  it('writes JSON lines with pino fields, its bindings, a child’s bindings and the call’s context', () => {
    const { logger, lines } = capture({}, { level: 'info', format: 'json' });
    logger.debug('hidden');
    logger.info({ term: 3, vote: null }, 'became Leader');
    logger.child({ component: 'transport' }).warn({ peer: '2' }, 'lost the connection to peer 2; calling it again');
    logger.error('alone');
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).to.have.length(3);
    const [leader, lost, alone] = records;
    expect(leader).to.include({ level: 'info', pid: process.pid, hostname: hostname(), node: '1', term: 3, vote: null, msg: 'became Leader' });
    expect(leader!['time']).to.match(ISO_TIME);
    expect(lost).to.include({ level: 'warn', node: '1', component: 'transport', peer: '2', msg: 'lost the connection to peer 2; calling it again' });
    expect(alone).to.include({ level: 'error', node: '1', msg: 'alone' });
    expect(alone).to.not.have.property('component');
  });

  it('writes text for a person: time, level, [node/component], message, then the context as key=value', () => {
    const { logger, lines } = capture({}, { level: 'info', format: 'pretty' });
    logger.info({ term: 3, note: 'two words', vote: null, members: ['1', '2'] }, 'became Leader');
    logger.child({ component: 'transport' }).warn('dropped');
    logger.debug('hidden');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO \[node 1\] became Leader term=3 note="two words" vote=null members=\["1","2"\]$/);
    expect(lines[1]).to.match(/^\S+ WARN \[node 1\/transport\] dropped$/);
  });

  it('prints each level and the ones above it, and nothing below', () => {
    const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
    for (const level of levels) {
      const { logger, lines } = capture({}, { level, format: 'json' });
      for (const at of levels) logger[at](`at ${at}`);
      expect(
        lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
        `level ${level}`,
      ).to.deep.equal(levels.slice(levels.indexOf(level)).map((at) => `at ${at}`));
    }
  });

  it('is quiet by default (warn), takes its level from GRAFT_LOG_LEVEL in any case, and an explicit level wins', () => {
    const quiet = capture({});
    quiet.logger.info('hidden');
    quiet.logger.warn('shown');
    expect(quiet.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).to.deep.equal(['shown']);

    const loud = capture({ GRAFT_LOG_LEVEL: 'DEBUG' });
    loud.logger.debug('shown');
    expect(loud.lines).to.have.length(1);

    const cli = capture({}, { defaultLevel: 'info' });
    cli.logger.info('shown');
    expect(cli.lines).to.have.length(1);

    const explicit = capture({ GRAFT_LOG_LEVEL: 'debug' }, { level: 'error' });
    explicit.logger.warn('hidden');
    expect(explicit.lines).to.deep.equal([]);
  });

  it('says in one line that a bad GRAFT_LOG_LEVEL or GRAFT_LOG_FORMAT was passed over, and what it uses instead', () => {
    const badLevel = capture({ GRAFT_LOG_LEVEL: 'loud' }, { defaultLevel: 'info', format: 'pretty' });
    badLevel.logger.debug('hidden');
    badLevel.logger.info('shown');
    expect(badLevel.lines).to.have.length(2);
    expect(badLevel.lines[0]).to.match(/ WARN \[node 1\] GRAFT_LOG_LEVEL="loud" is not one of debug, info, warn, error; using info$/);
    expect(badLevel.lines[1]).to.match(/ INFO \[node 1\] shown$/);

    const badFormat = capture({ GRAFT_LOG_FORMAT: 'yaml' });
    expect(badFormat.lines).to.have.length(1);
    expect(JSON.parse(badFormat.lines[0]!)).to.include({ level: 'warn', msg: 'GRAFT_LOG_FORMAT="yaml" is not one of json, pretty; using json' });
  });

  it('takes its format from GRAFT_LOG_FORMAT, and an explicit format wins', () => {
    const pretty = capture({ GRAFT_LOG_FORMAT: 'pretty' });
    pretty.logger.warn({ peer: '2' }, 'lost');
    expect(pretty.lines).to.have.length(1);
    expect(pretty.lines[0]).to.match(/ WARN \[node 1\] lost peer=2$/);

    const json = capture({ GRAFT_LOG_FORMAT: 'JSON' });
    json.logger.warn('lost');
    expect(JSON.parse(json.lines[0]!)).to.include({ msg: 'lost' });

    const explicit = capture({ GRAFT_LOG_FORMAT: 'pretty' }, { format: 'json' });
    explicit.logger.warn('lost');
    expect(JSON.parse(explicit.lines[0]!)).to.include({ msg: 'lost' });
  });

  it('writes to standard error: text when it is a terminal, JSON lines when it is not', () => {
    const stderr = process.stderr as NodeJS.WriteStream & { isTTY: boolean | undefined };
    const { write, isTTY } = stderr;
    const written: string[] = [];
    const toStderr = (terminal: boolean): void => {
      stderr.isTTY = terminal;
      stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof stderr.write;
      try {
        withEnvironment({ GRAFT_LOG_LEVEL: undefined, GRAFT_LOG_FORMAT: undefined }, () =>
          createLogger({ bindings: { node: '7' } }).warn({ peer: '3' }, 'lost'),
        );
      } finally {
        stderr.write = write;
        stderr.isTTY = isTTY;
      }
    };
    toStderr(true);
    toStderr(false);
    expect(written).to.have.length(2);
    expect(written[0]).to.match(/^\S+ WARN \[node 7\] lost peer=3\n$/);
    expect(JSON.parse(written[1]!)).to.include({ level: 'warn', node: '7', peer: '3', msg: 'lost' });
    expect(written[1]).to.match(/\n$/);
  });

  it('a GraftInstance given no logger is quiet: its warnings go to standard error, its info does not', async () => {
    const stderr = process.stderr;
    const { write } = stderr;
    const written: string[] = [];
    let graft!: GraftInstance<string, string>;
    stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof stderr.write;
    try {
      withEnvironment({ GRAFT_LOG_LEVEL: undefined, GRAFT_LOG_FORMAT: 'json' }, () => {
        // No storage and no data directory: the instance warns that nothing survives a restart.
        graft = new GraftInstance<string, string>({
          config: { electionTimeout: 50, configuration: { 1: '127.0.0.1:1' } },
          machineId: 1,
          applicator: (op) => op,
          serializer: jsonSerializer(),
          transport: new MemoryNetwork().transport('1'),
        });
      });
      await graft.start();
      expect(await graft.applyOperation('x')).to.equal('x');
      await graft.stop();
    } finally {
      stderr.write = write;
    }
    const records = written.map((chunk) => JSON.parse(chunk) as { level: string; node: string; msg: string });
    expect(records.map((r) => [r.level, r.node, r.msg.slice(0, 17)])).to.deep.equal([['warn', '1', 'no data directory']]);
  });

  it('a GraftInstance takes a real pino() logger as it is, and hands it context objects', async () => {
    const records: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
    const graft = new GraftInstance<string, string>({
      config: { electionTimeout: 50, configuration: { 1: '127.0.0.1:1' } },
      machineId: 1,
      applicator: (op) => op,
      serializer: jsonSerializer(),
      storage: new MemoryStorage(),
      transport: new MemoryNetwork().transport('1'),
      logger: logger.child({ app: 'test' }),
    });
    await graft.start();
    try {
      expect(await graft.applyOperation('x')).to.equal('x');
      const won = records.find((r) => typeof r['msg'] === 'string' && r['msg'].startsWith('became Leader'));
      // pino's own numbers for levels: this is pino's formatting, not Graft's.
      expect(won).to.include({ level: 30, app: 'test', role: 'Leader', leader: '1' });
      expect(won!['term']).to.be.a('number').and.above(0);
      const configuration = records.find((r) => typeof r['msg'] === 'string' && r['msg'].startsWith('configuration at index'));
      expect(configuration).to.deep.include({ voters: ['1'], learners: [] });
    } finally {
      await graft.stop();
    }
  });
});
