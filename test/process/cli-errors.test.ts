import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.ts';
import { runCli } from '../helpers/processes.ts';

/** Errors a user meets first, each one line that says what to do: no stack trace. */
describe('process: graft explains what went wrong in one line', function () {
  this.timeout(30_000);
  let dir: string;
  let blocker: Server;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-cli-errors-'));
    port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    writeFileSync(join(dir, 'cluster.yaml'), `electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:${port}\n`);
  });

  after(() => {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The lines graft wrote to stderr that are its own (a node logs its start before it fails). */
  const ownLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('graft:') || /^\s+at /.test(line));

  it('a port in use', async () => {
    const run = await runCli(['start', '--config', join(dir, 'cluster.yaml'), '--id', '1', '--data-dir', join(dir, 'data')]);
    expect(run.code).to.equal(1);
    expect(ownLines(run.stderr)).to.deep.equal([
      `graft: cannot listen on 127.0.0.1:${port}: the port is in use (by another node, or another program); stop it, or give this member another address`,
    ]);
  });

  it('a machine id the configuration does not list', async () => {
    const run = await runCli(['start', '--config', join(dir, 'cluster.yaml'), '--id', '9', '--data-dir', join(dir, 'data')]);
    expect(run.code, 'a usage error').to.equal(2);
    expect(ownLines(run.stderr)).to.have.length(1);
    expect(ownLines(run.stderr)[0]).to.match(/^graft: machine id "9" is not in .*cluster\.yaml \(members: 1\): give --address HOST:PORT/);
  });

  it('an address this machine does not have', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): no machine has it.
    writeFileSync(join(dir, 'elsewhere.yaml'), `electionTimeout: 150\nconfiguration:\n  1: 192.0.2.1:${port}\n`);
    const run = await runCli(['start', '--config', join(dir, 'elsewhere.yaml'), '--id', '1', '--data-dir', join(dir, 'data-elsewhere')]);
    expect(run.code).to.equal(1);
    expect(ownLines(run.stderr)).to.deep.equal([
      `graft: cannot listen on 192.0.2.1:${port}: this machine has no such address; check this member's address in the configuration`,
    ]);
  });

  it('a data directory that cannot be made: named, with the reason', async () => {
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, '');
    writeFileSync(join(dir, 'free.yaml'), `electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:${await freePort()}\n`);
    const run = await runCli(['start', '--config', join(dir, 'free.yaml'), '--id', '1', '--data-dir', blocked]);
    expect(run.code).to.equal(1);
    expect(ownLines(run.stderr)).to.deep.equal([`graft: data directory ${join(blocked, '1')}: cannot create it: ENOTDIR`]);
  });

  it('an address that is not one', async () => {
    const run = await runCli(['kv', 'get', 'x', '--cluster', 'localhost:http']);
    expect(run.code).to.equal(2);
    expect(ownLines(run.stderr)).to.deep.equal(['graft: --cluster "localhost:http": port must be an integer from 1 to 65535']);
  });
});
