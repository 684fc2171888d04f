import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessCluster, runCli, waitUntil, type CliRun, type NodeStatus } from '../helpers/processes.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const file = (name: string): string => join(FIXTURES, name);
const CLIENT_FLAGS = ['--ca', file('ca.pem'), '--cert', file('client.pem'), '--key', file('client-key.pem')] as const;

/** Runs the CLI with exactly the GRAFT_CA, GRAFT_CERT and GRAFT_KEY of `env` set (none by default). */
function graft(args: readonly string[], env: Partial<Record<'GRAFT_CA' | 'GRAFT_CERT' | 'GRAFT_KEY', string>> = {}): Promise<CliRun> {
  const names = ['GRAFT_CA', 'GRAFT_CERT', 'GRAFT_KEY'] as const;
  const saved = names.map((name) => process.env[name]);
  for (const name of names) {
    const value = env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    return runCli(args); // the child process takes its environment now
  } finally {
    names.forEach((name, i) => {
      if (saved[i] === undefined) delete process.env[name];
      else process.env[name] = saved[i];
    });
  }
}

/** What node `address` answers to `GET /status` over HTTPS with the client certificate, or null. */
function status(address: string): Promise<NodeStatus | null> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port,
        path: '/status',
        agent: false,
        timeout: 2000,
        ca: readFileSync(file('ca.pem')),
        cert: readFileSync(file('client.pem')),
        key: readFileSync(file('client-key.pem')),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(text) as NodeStatus) : null));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

describe('process: graft nodes with tls in cluster.yaml, and the CLI with --ca, --cert and --key', function () {
  this.timeout(60_000);
  let cluster: ProcessCluster;
  let at: string;

  before(async () => {
    cluster = await ProcessCluster.create(3, 200, {
      extraConfig: `tls:\n  cert: ${file('node.pem')}\n  key: ${file('node-key.pem')}\n  ca: ${file('ca.pem')}`,
    });
    at = cluster.address('1');
    await waitUntil(
      'a leader every node agrees on, over https',
      async () => {
        const views = await Promise.all(['1', '2', '3'].map((id) => status(cluster.address(id))));
        const leader = views[0]?.leader ?? null;
        return leader !== null && views.every((v) => v !== null && v.leader === leader);
      },
      20_000,
    );
  });

  after(async () => {
    await cluster?.stop();
  });

  it('sets on one node and reads on another with --ca, --cert and --key', async () => {
    const set = await graft(['kv', 'set', 'greeting', '"over tls"', '--cluster', at, ...CLIENT_FLAGS]);
    expect(set.code, set.stderr).to.equal(0);
    expect(set.stdout).to.match(/^OK index=\d+\n$/);
    const get = await graft([...CLIENT_FLAGS, 'kv', 'get', 'greeting', '--cluster', cluster.address('2')]);
    expect(get.code, get.stderr).to.equal(0);
    expect(JSON.parse(get.stdout)).to.equal('over tls');
  });

  it('takes the files from GRAFT_CA, GRAFT_CERT and GRAFT_KEY; an option wins over its variable', async () => {
    const env = { GRAFT_CA: file('ca.pem'), GRAFT_CERT: file('client.pem'), GRAFT_KEY: file('client-key.pem') };
    const get = await graft(['kv', 'get', 'greeting', '--cluster', cluster.address('3')], env);
    expect(get.code, get.stderr).to.equal(0);
    expect(JSON.parse(get.stdout)).to.equal('over tls');
    const wins = await graft(['kv', 'get', 'greeting', '--cluster', at, '--ca', file('ca.pem')], { ...env, GRAFT_CA: file('other-ca.pem') });
    expect(wins.code, wins.stderr).to.equal(0);
  });

  it('the wrong CA: one line naming the node, the reason and the file, and exit 1', async () => {
    const run = await graft([
      'kv',
      'get',
      'greeting',
      '--cluster',
      at,
      '--ca',
      file('other-ca.pem'),
      '--cert',
      file('client.pem'),
      '--key',
      file('client-key.pem'),
    ]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal('');
    expect(run.stderr).to.match(
      new RegExp(
        `^graft: node ${at} failed the TLS handshake: its certificate is not trusted: certificate signed by an unknown CA ` +
          `\\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\\); is --ca ${file('other-ca.pem')} the cluster CA\\?\n$`,
      ),
    );
  });

  it('a client certificate of another CA, or none, is refused by the node: one line, exit 1', async () => {
    const other = await graft([
      'kv',
      'get',
      'greeting',
      '--cluster',
      at,
      '--ca',
      file('ca.pem'),
      '--cert',
      file('other-node.pem'),
      '--key',
      file('other-node-key.pem'),
    ]);
    expect(other.code).to.equal(1);
    expect(other.stderr).to.equal(
      `graft: node ${at} refused the TLS handshake: it closed the connection after seeing the certificate of --cert ${file('other-node.pem')}; ` +
        'is it signed by the cluster CA?\n',
    );
    const none = await graft(['kv', 'get', 'greeting', '--cluster', at, '--ca', file('ca.pem')]);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.equal(
      `graft: node ${at} refused the TLS handshake: a client certificate is required (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED); ` +
        'give --cert and --key, a client certificate signed by the cluster CA\n',
    );
  });

  it('without TLS options the node refuses plain HTTP, and the CLI says what to give', async () => {
    const run = await graft(['status', '--cluster', at]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal(
      `graft: cannot reach ${at}: it closed the connection before answering (if the cluster uses TLS, give --ca, --cert and --key)\n`,
    );
  });

  it('a certificate without its key, or without --ca, is a usage error (exit 2)', async () => {
    const noKey = await graft(['status', '--cluster', at, '--ca', file('ca.pem'), '--cert', file('client.pem')]);
    expect(noKey.code).to.equal(2);
    expect(noKey.stderr).to.equal(`graft: --cert ${file('client.pem')} needs its key, --key (or GRAFT_KEY)\n`);
    const noCa = await graft(['status', '--cluster', at], { GRAFT_CERT: file('client.pem'), GRAFT_KEY: file('client-key.pem') });
    expect(noCa.code).to.equal(2);
    expect(noCa.stderr).to.equal(`graft: GRAFT_CERT=${file('client.pem')} needs --ca (or GRAFT_CA): the CA that signed the nodes' certificates\n`);
  });

  it('graft start --join calls the cluster with the tls of its cluster file', async () => {
    const joined = await cluster.join('4', '1');
    await joined.waitForLine(/joined the cluster as a voter/, 30_000);
    const members = await graft(['configuration', '--cluster', at, ...CLIENT_FLAGS]);
    expect(members.code, members.stderr).to.equal(0);
    expect(members.stdout).to.match(/^4 +127\.0\.0\.1:\d+ +voter/m);
  });
});
