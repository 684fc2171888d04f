import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SNAPSHOT_POLICY, clusterConfigFromObject, loadClusterConfig, parseAddress, parseClusterConfig, validateMachineId } from '../../src/config.ts';
import { GraftError } from '../../src/errors.ts';

function errorOf(fn: () => unknown): GraftError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(GraftError);
    expect((error as GraftError).code).to.equal('CONFIG_INVALID');
    return error as GraftError;
  }
  throw new Error('expected an error');
}

const members = 'configuration:\n  1: 127.0.0.1:9001\n  2: 127.0.0.1:9002\n';

describe('config: cluster.yaml', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'graft-config-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a valid file: numeric and string ids, a bare host, IPv6, the heartbeat default, dataDir beside the file', () => {
    const path = write('ok.yaml', 'electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:9001\n  "b": tomato\n  c: "[::1]:9003"\ndataDir: ./data\n');
    const config = loadClusterConfig(path);
    expect(config.electionTimeout).to.equal(150);
    expect(config.heartbeatInterval).to.equal(50);
    expect([...config.members]).to.deep.equal([
      ['1', { host: '127.0.0.1', port: 9001 }],
      ['b', { host: 'tomato', port: 7070 }],
      ['c', { host: '::1', port: 9003 }],
    ]);
    expect(config.dataDir).to.equal(join(dir, 'data'));
    expect(config.readMode).to.equal('read-index');
    expect(config.snapshot).to.deep.equal({ entries: 10_000, bytes: 64 * 1024 * 1024, keep: 2 });
    expect(config.source).to.equal(path);
    expect(loadClusterConfig(write('lease.yaml', 'electionTimeout: 150\nreadMode: lease\nconfiguration:\n  1: tomato\n')).readMode).to.equal('lease');
  });

  const mistakes: [string, string, RegExp][] = [
    ['YAML syntax', 'electionTimeout: 150\nconfiguration: [unclosed\n', /bad\.yaml: not valid YAML \(line \d+\)/],
    ['top level not a mapping', '- 1\n- 2\n', /expected a mapping with the keys electionTimeout/],
    [
      'unknown key',
      `electionTimeout: 150\nelectionTimout: 3\n${members}`,
      /electionTimout: unknown key; the keys are electionTimeout, heartbeatInterval, configuration, dataDir, readMode/,
    ],
    ['missing electionTimeout', members, /electionTimeout: missing; expected an integer number of milliseconds/],
    ['missing configuration', 'electionTimeout: 150\n', /configuration: missing; expected a mapping of machine id to host:port/],
    [
      'electionTimeout of the wrong type',
      `electionTimeout: fast\n${members}`,
      /electionTimeout: expected an integer number of milliseconds, got string "fast"/,
    ],
    ['electionTimeout too small', `electionTimeout: 5\n${members}`, /electionTimeout: 5 is too small; expected at least 10 ms/],
    [
      'heartbeat not below the election timeout',
      `electionTimeout: 100\nheartbeatInterval: 100\n${members}`,
      /heartbeatInterval: 100 must be below electionTimeout \(100\)/,
    ],
    [
      'configuration a list',
      'electionTimeout: 150\nconfiguration:\n  - 127.0.0.1:9001\n',
      /configuration: expected a mapping of machine id to host:port, got a list/,
    ],
    ['empty configuration', 'electionTimeout: 150\nconfiguration: {}\n', /configuration: no members/],
    [
      'bad port',
      'electionTimeout: 150\nconfiguration:\n  2: 127.0.0.1:99999\n',
      /configuration\.2: "127\.0\.0\.1:99999" is not a valid address: port must be an integer from 1 to 65535/,
    ],
    [
      'address not a string',
      'electionTimeout: 150\nconfiguration:\n  2: 9002\n',
      /configuration\.2: expected an address "host:port" or a host name, got number 9002/,
    ],
    [
      'duplicate address',
      'electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:9001\n  2: 127.0.0.1:9001\n',
      /configuration\.2: address 127\.0\.0\.1:9001 is already the address of machine 1/,
    ],
    [
      'duplicate id, written as a number and a string',
      'electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:9001\n  "1": 127.0.0.1:9002\n',
      /configuration\.1: machine id 1 appears twice/,
    ],
    ['bad id', 'electionTimeout: 150\nconfiguration:\n  "a b": 127.0.0.1:9001\n', /configuration\.a b: a machine id must be/],
    ['dataDir not a string', `electionTimeout: 150\n${members}dataDir: 3\n`, /dataDir: expected a directory path, got number 3/],
    ['readMode unknown', `electionTimeout: 150\n${members}readMode: fast\n`, /readMode: expected read-index or lease, got string "fast"/],
    [
      'snapshot.entries of the wrong type',
      `electionTimeout: 150\n${members}snapshot:\n  entries: x\n`,
      /: snapshot\.entries: expected a whole number of at least 1, got string "x"$/,
    ],
    [
      'snapshot.bytes below 1',
      `electionTimeout: 150\n${members}snapshot:\n  bytes: 0\n`,
      /: snapshot\.bytes: expected a whole number of at least 1, got number 0$/,
    ],
    [
      'snapshot.keep not whole',
      `electionTimeout: 150\n${members}snapshot:\n  keep: 1.5\n`,
      /: snapshot\.keep: expected a whole number of at least 1, got number 1\.5$/,
    ],
    ['snapshot unknown key', `electionTimeout: 150\n${members}snapshot:\n  foo: 1\n`, /: snapshot\.foo: unknown key; the keys are entries, bytes, keep$/],
    ['snapshot key twice', `electionTimeout: 150\n${members}snapshot:\n  keep: 2\n  keep: 3\n`, /: snapshot\.keep: appears twice$/],
    ['snapshot a list', `electionTimeout: 150\n${members}snapshot:\n  - 1\n`, /: snapshot: expected a mapping with the keys entries, bytes, keep, got a list$/],
    [
      'snapshot a number',
      `electionTimeout: 150\n${members}snapshot: 100\n`,
      /: snapshot: expected a mapping with the keys entries, bytes, keep, got number 100$/,
    ],
  ];
  for (const [what, text, pattern] of mistakes) {
    it(`names the file, the key and the expectation: ${what}`, () => {
      const path = write('bad.yaml', text);
      const error = errorOf(() => loadClusterConfig(path));
      expect(error.message.startsWith(`${path}: `), error.message).to.equal(true);
      expect(error.message).to.match(pattern);
    });
  }

  it('reads the snapshot policy: all three keys, or some with the defaults for the rest', () => {
    const all = parseClusterConfig(`electionTimeout: 150\n${members}snapshot:\n  entries: 500\n  bytes: 1048576\n  keep: 3\n`);
    expect(all.snapshot).to.deep.equal({ entries: 500, bytes: 1048576, keep: 3 });
    const some = parseClusterConfig(`electionTimeout: 150\n${members}snapshot:\n  keep: 1\n`);
    expect(some.snapshot).to.deep.equal({ ...DEFAULT_SNAPSHOT_POLICY, keep: 1 });
    expect(parseClusterConfig(`electionTimeout: 150\n${members}snapshot: {}\n`).snapshot).to.deep.equal(DEFAULT_SNAPSHOT_POLICY);
  });

  it('reads the snapshot policy of a plain object, with the same messages', () => {
    const config = clusterConfigFromObject({ electionTimeout: 150, configuration: { 1: '127.0.0.1:9001' }, snapshot: { entries: 500 } });
    expect(config.snapshot).to.deep.equal({ entries: 500, bytes: DEFAULT_SNAPSHOT_POLICY.bytes, keep: DEFAULT_SNAPSHOT_POLICY.keep });
    expect(clusterConfigFromObject({ electionTimeout: 150, configuration: { 1: '127.0.0.1:9001' } }).snapshot).to.deep.equal(DEFAULT_SNAPSHOT_POLICY);
    const error = errorOf(() => clusterConfigFromObject({ electionTimeout: 150, configuration: { 1: '127.0.0.1:9001' }, snapshot: { keep: 0 } }));
    expect(error.message).to.equal('<object>: snapshot.keep: expected a whole number of at least 1, got number 0');
  });

  it('a missing file is named, with the reason', () => {
    expect(errorOf(() => loadClusterConfig(join(dir, 'nope.yaml'))).message).to.match(/nope\.yaml: cannot read the cluster configuration: no such file/);
  });

  it('a machine id outside the configuration is refused, listing the members', () => {
    const config = parseClusterConfig(`electionTimeout: 150\n${members}`, 'cluster.yaml');
    expect(errorOf(() => validateMachineId(config, '7')).message).to.equal('machine id "7" is not in the configuration of cluster.yaml (members: 1, 2)');
  });

  it('parses addresses', () => {
    expect(parseAddress('example.com:80')).to.deep.equal({ host: 'example.com', port: 80 });
    expect(parseAddress('[::1]')).to.deep.equal({ host: '::1', port: 7070 });
    expect(() => parseAddress('host:0')).to.throw(/port must be/);
    expect(() => parseAddress(':80')).to.throw(/expected host:port/);
  });
});
