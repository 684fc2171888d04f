import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { clusterConfigFromObject, loadClusterConfig, parseClusterConfig } from '../../src/config.ts';
import { GraftError } from '../../src/errors.ts';
import { GraftInstance } from '../../src/graft.ts';
import { silentLogger } from '../../src/logger.ts';
import { jsonSerializer } from '../../src/serializer.ts';
import { MemoryStorage } from '../../src/storage/memory.ts';
import { mutualTlsServerOptions } from '../../src/transport/ws/tls.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const members = 'configuration:\n  1: 127.0.0.1:9001\n  2: 127.0.0.1:9002\n';

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

describe('config: tls in cluster.yaml', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-config-tls-'));
    mkdirSync(join(dir, 'certs'));
    for (const name of ['ca.pem', 'node.pem', 'node-key.pem', 'other-node-key.pem']) copyFileSync(join(FIXTURES, name), join(dir, 'certs', name));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const load = (name: string, tls: string): ReturnType<typeof loadClusterConfig> => {
    const path = join(dir, name);
    writeFileSync(path, `electionTimeout: 150\n${members}${tls}`);
    return loadClusterConfig(path);
  };

  it('is null without a tls key', () => {
    expect(parseClusterConfig(`electionTimeout: 150\n${members}`).tls).to.equal(null);
  });

  it('reads the three PEM files, each resolved against the directory of the file', () => {
    const config = load('ok.yaml', 'tls:\n  cert: certs/node.pem\n  key: ./certs/node-key.pem\n  ca: certs/ca.pem\n');
    const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
    expect(config.tls).to.deep.equal({
      cert: read('node.pem'),
      key: read('node-key.pem'),
      ca: read('ca.pem'),
      certFile: join(dir, 'certs', 'node.pem'),
      keyFile: join(dir, 'certs', 'node-key.pem'),
      caFile: join(dir, 'certs', 'ca.pem'),
    });
  });

  it('takes the flow form too, and paths relative to the working directory from an object', () => {
    expect(load('flow.yaml', 'tls: { cert: certs/node.pem, key: certs/node-key.pem, ca: certs/ca.pem }\n').tls?.certFile).to.equal(
      join(dir, 'certs', 'node.pem'),
    );
    const fromObject = clusterConfigFromObject({
      electionTimeout: 150,
      configuration: { 1: '127.0.0.1:9001' },
      tls: { cert: join(FIXTURES, 'node.pem'), key: join(FIXTURES, 'node-key.pem'), ca: join(FIXTURES, 'ca.pem') },
    });
    expect(fromObject.tls?.caFile).to.equal(join(FIXTURES, 'ca.pem'));
  });

  it('needs all three keys, and no others, each a path', () => {
    const path = join(dir, 'partial.yaml');
    expect(errorOf(() => load('partial.yaml', 'tls:\n  cert: certs/node.pem\n  ca: certs/ca.pem\n')).message).to.equal(
      `${path}: tls.key: missing; expected the path of a PEM file holding this node's private key (tls needs cert, key and ca)`,
    );
    expect(errorOf(() => load('extra.yaml', 'tls:\n  cert: a\n  key: b\n  ca: c\n  crl: d\n')).message).to.equal(
      `${join(dir, 'extra.yaml')}: tls.crl: unknown key; the keys are cert, key, ca`,
    );
    expect(errorOf(() => load('list.yaml', 'tls: [a, b]\n')).message).to.equal(
      `${join(dir, 'list.yaml')}: tls: expected a mapping with the keys cert, key, ca, each the path of a PEM file, got a list`,
    );
    expect(errorOf(() => load('number.yaml', 'tls:\n  cert: 12\n  key: b\n  ca: c\n')).message).to.equal(
      `${join(dir, 'number.yaml')}: tls.cert: expected the path of a PEM file, got number 12`,
    );
    expect(errorOf(() => load('twice.yaml', 'tls:\n  cert: a\n  cert: b\n')).message).to.equal(`${join(dir, 'twice.yaml')}: tls.cert: appears twice`);
  });

  it('names the key and the file that cannot be read', () => {
    expect(errorOf(() => load('missing.yaml', 'tls:\n  cert: certs/node.pem\n  key: certs/node-key.pem\n  ca: certs/nope.pem\n')).message).to.equal(
      `${join(dir, 'missing.yaml')}: tls.ca: cannot read ${join(dir, 'certs', 'nope.pem')}: no such file`,
    );
  });

  it('refuses a file that is not PEM of the right kind: a key given as the certificate, a certificate as the key', () => {
    writeFileSync(join(dir, 'certs', 'junk.pem'), 'not a certificate\n');
    expect(errorOf(() => load('junk.yaml', 'tls:\n  cert: certs/node.pem\n  key: certs/node-key.pem\n  ca: certs/junk.pem\n')).message).to.equal(
      `${join(dir, 'junk.yaml')}: tls.ca: ${join(dir, 'certs', 'junk.pem')} is not PEM holding a certificate ("-----BEGIN CERTIFICATE-----"); expected the cluster CA certificate`,
    );
    expect(errorOf(() => load('swapped.yaml', 'tls:\n  cert: certs/node-key.pem\n  key: certs/node.pem\n  ca: certs/ca.pem\n')).message).to.match(
      /swapped\.yaml: tls\.cert: .*node-key\.pem is not PEM holding a certificate/,
    );
    expect(errorOf(() => load('swapped-key.yaml', 'tls:\n  cert: certs/node.pem\n  key: certs/node.pem\n  ca: certs/ca.pem\n')).message).to.match(
      /swapped-key\.yaml: tls\.key: .*node\.pem is not PEM holding a private key \("-----BEGIN \.\.\. PRIVATE KEY-----"\); expected this node's private key$/,
    );
  });

  it('refuses a key that does not belong to the certificate, naming both files', () => {
    const message = errorOf(() => load('mismatch.yaml', 'tls:\n  cert: certs/node.pem\n  key: certs/other-node-key.pem\n  ca: certs/ca.pem\n')).message;
    expect(message).to.match(
      new RegExp(
        `^${join(dir, 'mismatch.yaml')}: tls: ${join(dir, 'certs', 'node.pem')} and ${join(dir, 'certs', 'other-node-key.pem')} cannot be used together: .*key values mismatch`,
      ),
    );
  });
});

describe('GraftOptions: a shared server speaks what the configuration says', () => {
  const tls = { cert: join(FIXTURES, 'node.pem'), key: join(FIXTURES, 'node-key.pem'), ca: join(FIXTURES, 'ca.pem') };
  const build = (withTls: boolean, server: ReturnType<typeof createServer> | ReturnType<typeof createHttpsServer>): GraftInstance<string, void> =>
    new GraftInstance<string, void>({
      config: { electionTimeout: 150, configuration: { 1: '127.0.0.1:9001' }, ...(withTls ? { tls } : {}) },
      machineId: 1,
      server,
      storage: new MemoryStorage(),
      logger: silentLogger,
      serializer: jsonSerializer<string>(),
      applicator: () => {},
    });
  const https = createHttpsServer(mutualTlsServerOptions(loadTls()));

  function loadTls(): { cert: string; key: string; ca: string } {
    return { cert: readFileSync(tls.cert, 'utf8'), key: readFileSync(tls.key, 'utf8'), ca: readFileSync(tls.ca, 'utf8') };
  }

  it('refuses a plain HTTP server with tls, and an HTTPS server without', () => {
    expect(errorOf(() => build(true, createServer())).message).to.equal(
      'GraftInstance options: server must be an HTTPS server (https.createServer) with the certificates of the configuration, which has tls',
    );
    expect(errorOf(() => build(false, https)).message).to.equal(
      'GraftInstance options: server is an HTTPS server, but the configuration has no tls: peers would dial it over plain ws://',
    );
  });

  it('takes an HTTPS server with tls, and an HTTP server without', () => {
    expect(build(true, https).isRunning()).to.equal(false);
    expect(build(false, createServer()).isRunning()).to.equal(false);
  });
});
