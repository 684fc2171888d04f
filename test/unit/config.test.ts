import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
      /configuration\.2: address 127\.0\.0\.1:9001 is already the address of machine 1; every member needs its own/,
    ],
    [
      'duplicate address, written another way (localhost for 127.0.0.1)',
      'electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:9001\n  2: localhost:9001\n',
      /configuration\.2: address localhost:9001 is already the address of machine 1 \(127\.0\.0\.1:9001, written another way\)/,
    ],
    [
      'duplicate address, IPv6 written two ways',
      'electionTimeout: 150\nconfiguration:\n  1: "[::1]:9001"\n  2: "[0:0:0:0:0:0:0:1]:9001"\n',
      /configuration\.2: address \[0:0:0:0:0:0:0:1\]:9001 is already the address of machine 1 \(\[::1\]:9001, written another way\)/,
    ],
    [
      'duplicate address, a host name in capitals',
      'electionTimeout: 150\nconfiguration:\n  1: db.example.com:9001\n  2: DB.example.com.:9001\n',
      /configuration\.2: address DB\.example\.com\.:9001 is already the address of machine 1 \(db\.example\.com:9001, written another way\)/,
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

  it('reads an optional clusterId, and refuses one that is not a plain name', () => {
    expect(parseClusterConfig(`electionTimeout: 150\n${members}`, 'cluster.yaml').clusterId).to.equal(null);
    expect(parseClusterConfig(`electionTimeout: 150\nclusterId: prod-eu.1\n${members}`, 'cluster.yaml').clusterId).to.equal('prod-eu.1');
    for (const bad of ['"a b"', '"-x"', '42', `${'x'.repeat(65)}`, '[a]']) {
      expect(errorOf(() => parseClusterConfig(`electionTimeout: 150\nclusterId: ${bad}\n${members}`, 'cluster.yaml')).message).to.match(
        /^cluster\.yaml: clusterId: expected a cluster id \(1 to 64 letters/,
      );
    }
  });

  it('a missing file is named, with the reason', () => {
    expect(errorOf(() => loadClusterConfig(join(dir, 'nope.yaml'))).message).to.match(/nope\.yaml: cannot read the cluster configuration: no such file/);
  });

  it('a machine id outside the configuration is refused, listing the members', () => {
    const config = parseClusterConfig(`electionTimeout: 150\n${members}`, 'cluster.yaml');
    expect(errorOf(() => validateMachineId(config, '7')).message).to.equal('machine id "7" is not in the configuration of cluster.yaml (members: 1, 2)');
  });

  it('text whose aliases cannot be resolved is not valid YAML, not a crash (found by the fuzz test)', () => {
    expect(errorOf(() => parseClusterConfig('*!', 'cluster.yaml')).message).to.match(/^cluster\.yaml: not valid YAML: Unresolved alias/);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 8 }, (_, i) => `${'bcdefghi'[i]}: &${'bcdefghi'[i]} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`),
    ].join('\n');
    expect(errorOf(() => parseClusterConfig(bomb, 'cluster.yaml')).message).to.match(/^cluster\.yaml: not valid YAML: /);
  });

  describe('secretFile and GRAFT_CLUSTER_SECRET', () => {
    const secret = 'f00dfeedcafebabe0123';
    afterEach(() => delete process.env['GRAFT_CLUSTER_SECRET']);

    it('reads the cluster secret, trimmed, from a file beside the cluster file', () => {
      write('cluster.secret', `${secret}\n`);
      const config = loadClusterConfig(write('with-secret.yaml', `electionTimeout: 150\n${members}secretFile: cluster.secret\n`));
      expect([config.secret, config.secretFile]).to.deep.equal([secret, join(dir, 'cluster.secret')]);
    });

    it('without secretFile, takes GRAFT_CLUSTER_SECRET, and has none without either', () => {
      expect(parseClusterConfig(`electionTimeout: 150\n${members}`).secret).to.equal(null);
      process.env['GRAFT_CLUSTER_SECRET'] = ` ${secret} `;
      expect(parseClusterConfig(`electionTimeout: 150\n${members}`).secret).to.equal(secret);
    });

    it('refuses a secret too short or unreadable, naming where it came from, and never printing it', () => {
      write('short.secret', 'abc123');
      const short = errorOf(() => loadClusterConfig(write('short.yaml', `electionTimeout: 150\n${members}secretFile: short.secret\n`))).message;
      expect(short).to.match(/short\.yaml: secretFile: .*short\.secret: the token is 6 characters long; a cluster secret needs at least 16/);
      expect(short).to.not.contain('abc123');
      expect(errorOf(() => parseClusterConfig(`electionTimeout: 150\n${members}secretFile: /no/such.secret\n`)).message).to.contain(
        'secretFile: cannot read /no/such.secret: no such file',
      );
      process.env['GRAFT_CLUSTER_SECRET'] = 'tiny';
      expect(errorOf(() => parseClusterConfig(`electionTimeout: 150\n${members}`)).message).to.match(
        /secretFile: none given, and GRAFT_CLUSTER_SECRET will not do: it is 4 characters long/,
      );
    });
  });

  describe('allowedOrigins and clientTokenFile', () => {
    const token = 'a1b2c3d4e5f6a7b8c9d0';

    it('are absent by default: no origin allowed, no token', () => {
      const config = parseClusterConfig(`electionTimeout: 150\n${members}`);
      expect(config.allowedOrigins).to.deep.equal([]);
      expect(config.clientTokenFile).to.equal(null);
      expect(config.clientToken).to.equal(null);
    });

    it('reads the origins and the token, trimmed, from a file beside the cluster file', () => {
      write('token', `\n  ${token}  \n`);
      const path = write(
        'secure.yaml',
        `electionTimeout: 150\n${members}allowedOrigins: ["https://dashboard.example.com", "http://127.0.0.1:8080"]\nclientTokenFile: ./token\n`,
      );
      const config = loadClusterConfig(path);
      expect(config.allowedOrigins).to.deep.equal(['https://dashboard.example.com', 'http://127.0.0.1:8080']);
      expect(config.clientTokenFile).to.equal(join(dir, 'token'));
      expect(config.clientToken).to.equal(token);
      expect(parseClusterConfig(`electionTimeout: 150\n${members}allowedOrigins: []\n`).allowedOrigins).to.deep.equal([]);
    });

    it('resolves a relative clientTokenFile against the cluster file, wherever the working directory is', () => {
      const sub = join(dir, 'etc');
      mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, 'client.token'), token);
      const config = loadClusterConfig(write('etc/cluster.yaml', `electionTimeout: 150\n${members}clientTokenFile: client.token\n`));
      expect(config.clientTokenFile).to.equal(join(sub, 'client.token'));
      expect(config.clientToken).to.equal(token);
      // An absolute path is taken as it is.
      const absolute = parseClusterConfig(`electionTimeout: 150\n${members}clientTokenFile: ${join(sub, 'client.token')}\n`, join(dir, 'x.yaml'));
      expect(absolute.clientToken).to.equal(token);
    });

    it('reads both from a plain object, a relative path from the working directory', () => {
      const path = write('object.token', token);
      const config = clusterConfigFromObject({
        electionTimeout: 150,
        configuration: { 1: '127.0.0.1:9001' },
        allowedOrigins: ['https://a.example'],
        clientTokenFile: path,
      });
      expect(config.allowedOrigins).to.deep.equal(['https://a.example']);
      expect(config.clientToken).to.equal(token);
    });

    const wrong: [string, string, RegExp][] = [
      [
        'allowedOrigins not a list',
        'allowedOrigins: https://a.example',
        /: allowedOrigins: expected a list of web origins, scheme:\/\/host\[:port\], e\.g\. \["https:\/\/dashboard\.example\.com"\], got string "https:\/\/a\.example"$/,
      ],
      ['an origin not a string', 'allowedOrigins: [1]', /: allowedOrigins\[0\]: expected an origin "scheme:\/\/host\[:port\]", got number 1$/],
      [
        'an origin without a scheme',
        'allowedOrigins: ["a.example"]',
        /: allowedOrigins\[0\]: "a\.example" is not a web origin; expected "http:\/\/host\[:port\]"/,
      ],
      ['an origin of another scheme', 'allowedOrigins: ["file:///x"]', /: allowedOrigins\[0\]: "file:\/\/\/x" is not a web origin/],
      [
        'an origin with a path',
        'allowedOrigins: ["https://ok.example", "https://a.example/app/"]',
        /: allowedOrigins\[1\]: "https:\/\/a\.example\/app\/" is not an origin as browsers send it; write "https:\/\/a\.example"$/,
      ],
      ['an origin with its default port', 'allowedOrigins: ["https://a.example:443"]', /write "https:\/\/a\.example"$/],
      ['an origin in upper case', 'allowedOrigins: ["https://A.example"]', /write "https:\/\/a\.example"$/],
      ['clientTokenFile not a string', 'clientTokenFile: [a]', /: clientTokenFile: expected the path of a file holding the client token, got a list$/],
      ['clientTokenFile empty', 'clientTokenFile: ""', /: clientTokenFile: expected the path of a file holding the client token, got string ""$/],
      ['clientTokenFile missing', 'clientTokenFile: ./no-such.token', /: clientTokenFile: cannot read \/.*\/no-such\.token: no such file$/],
      ['clientTokenFile a directory', 'clientTokenFile: .', /: clientTokenFile: cannot read \/.*: it is a directory$/],
      [
        'a token too short',
        'clientTokenFile: short.token',
        /: clientTokenFile: \/.*\/short\.token: the token is 15 characters long; a client token needs at least 16/,
      ],
      ['an empty token', 'clientTokenFile: empty.token', /: clientTokenFile: \/.*\/empty\.token: the token is empty; a client token needs at least 16/],
      [
        'a token with a space',
        'clientTokenFile: spaced.token',
        /: clientTokenFile: \/.*\/spaced\.token: the token may hold only printable ASCII characters, without spaces/,
      ],
    ];
    for (const [what, line, pattern] of wrong) {
      it(`names the file, the key and the expectation: ${what}`, () => {
        write('short.token', '0123456789abcde\n');
        write('empty.token', ' \n');
        write('spaced.token', '0123456789 abcdef0123\n');
        const path = write('bad.yaml', `electionTimeout: 150\n${members}${line}\n`);
        const error = errorOf(() => loadClusterConfig(path));
        expect(error.message.startsWith(`${path}: `), error.message).to.equal(true);
        expect(error.message).to.match(pattern);
      });
    }

    it('an unreadable token file is named, with the reason', function () {
      if (process.getuid?.() === 0) this.skip(); // root reads any file
      const path = write('secret.token', token);
      chmodSync(path, 0o000);
      const error = errorOf(() => loadClusterConfig(write('unreadable.yaml', `electionTimeout: 150\n${members}clientTokenFile: secret.token\n`)));
      expect(error.message).to.equal(`${join(dir, 'unreadable.yaml')}: clientTokenFile: cannot read ${path}: permission denied`);
    });

    it('no message holds the token', () => {
      const secret = 'secret-but-short';
      write('almost.token', `${secret} x\n`);
      const error = errorOf(() => loadClusterConfig(write('almost.yaml', `electionTimeout: 150\n${members}clientTokenFile: almost.token\n`)));
      expect(error.message).to.not.include(secret);
    });
  });

  it('parses addresses', () => {
    expect(parseAddress('example.com:80')).to.deep.equal({ host: 'example.com', port: 80 });
    expect(parseAddress('[::1]')).to.deep.equal({ host: '::1', port: 7070 });
    expect(() => parseAddress('host:0')).to.throw(/port must be/);
    expect(() => parseAddress(':80')).to.throw(/expected host:port/);
  });
});
