import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessCluster, runCli } from '../helpers/processes.ts';

interface Status {
  leader: string | null;
}

/** Waits until the node at `address` names a leader, by asking it as each election ends. */
async function leaderSeenBy(cluster: ProcessCluster, address: string): Promise<string> {
  await Promise.race([...cluster.nodes.values()].map((n) => n.waitForLine(/became Leader/, 30_000)));
  for (;;) {
    const run = await runCli(['status', '--cluster', address]);
    if (run.code !== 0) throw new Error(`graft status failed: ${run.stderr}`);
    const { leader } = JSON.parse(run.stdout) as Status;
    if (leader !== null) return leader;
  }
}

/** A JSON value whose compact text is about `kib` KiB, ASCII only (runCli decodes output chunk by chunk). */
function valueOf(kib: number, tag: string): { tag: string; items: { i: number; text: string }[] } {
  const items = Array.from({ length: Math.ceil((kib * 1024) / 100) }, (_, i) => ({ i, text: `${tag} ${i} ${'x'.repeat(70)}` }));
  return { tag, items };
}

// Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN); these values could not go on the command line.
const ARGV_LIMIT = 128 * 1024;

describe('process: graft kv set and cas read values from a file or standard input (three node processes)', function () {
  this.timeout(120_000);
  let cluster: ProcessCluster;
  let dir: string;
  let followerA: string;
  let followerB: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-kv-input-'));
    cluster = await ProcessCluster.create(3);
    const leader = await leaderSeenBy(cluster, cluster.address('1'));
    const followers = ['1', '2', '3'].filter((id) => id !== leader);
    followerA = cluster.address(followers[0]!);
    followerB = cluster.address(followers[1]!);
  });

  after(async () => {
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('sets a ~600 KiB value with --file through a follower; another node reads it back identical', async () => {
    const value = valueOf(600, 'file');
    const path = join(dir, 'big.json');
    const text = JSON.stringify(value, null, 2);
    expect(Buffer.byteLength(text)).to.be.above(4 * ARGV_LIMIT);
    writeFileSync(path, text);

    const set = await runCli(['kv', 'set', 'big-file', '--file', path, '--cluster', followerA]);
    expect(set.stderr).to.equal('');
    expect(set.code).to.equal(0);
    expect(set.stdout).to.match(/^OK index=\d+/);

    const get = await runCli(['kv', 'get', 'big-file', '--cluster', followerB]);
    expect(get.code, get.stderr).to.equal(0);
    expect(JSON.parse(get.stdout)).to.deep.equal(value);
  });

  it('sets a ~600 KiB value read from standard input with -', async () => {
    const value = valueOf(600, 'stdin');
    const text = JSON.stringify(value);
    expect(Buffer.byteLength(text)).to.be.above(4 * ARGV_LIMIT);

    const set = await runCli(['kv', 'set', 'big-stdin', '-', '--cluster', followerA], 30_000, text);
    expect(set.stderr).to.equal('');
    expect(set.code).to.equal(0);

    const get = await runCli(['kv', 'get', 'big-stdin', '--cluster', followerB]);
    expect(get.code, get.stderr).to.equal(0);
    expect(JSON.parse(get.stdout)).to.deep.equal(value);
  });

  it('a file with a UTF-8 byte-order mark and non-ASCII text gives back the same value', async () => {
    const value = { greeting: 'héllo wörld ✓ 😀', nested: [null, true, -1.5e3] };
    const path = join(dir, 'small.json');
    writeFileSync(path, `\uFEFF${JSON.stringify(value)}\n`);
    const set = await runCli(['kv', 'set', 'unicode', '--file', path, '--cluster', followerA]);
    expect(set.code, set.stderr).to.equal(0);
    const get = await runCli(['kv', 'get', 'unicode', '--cluster', followerB]);
    expect(JSON.parse(get.stdout)).to.deep.equal(value);
  });

  it('kv cas takes its new value from --file or from standard input', async () => {
    expect((await runCli(['kv', 'set', 'swap', '1', '--cluster', followerA])).code).to.equal(0);
    const fromFile = valueOf(300, 'cas-file');
    const path = join(dir, 'cas.json');
    writeFileSync(path, JSON.stringify(fromFile));
    const cas = await runCli(['kv', 'cas', 'swap', '1', '--file', path, '--cluster', followerA]);
    expect(cas.code, cas.stderr).to.equal(0);
    expect(cas.stdout.trim()).to.equal('OK');
    const read = await runCli(['kv', 'get', 'swap', '--cluster', followerB]);
    expect(JSON.parse(read.stdout)).to.deep.equal(fromFile);

    const refused = await runCli(['kv', 'cas', 'swap', '1', '-', '--cluster', followerA], 30_000, '"never"');
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/current value is not 1; nothing changed/);
    const fromStdin = await runCli(['kv', 'cas', 'swap', 'null', '-', '--cluster', followerA], 30_000, '"never"');
    expect(fromStdin.code).to.equal(1); // the key holds fromFile, not null
    expect((await runCli(['kv', 'del', 'swap', '--cluster', followerA])).code).to.equal(0);
    const afterDelete = await runCli(['kv', 'cas', 'swap', 'null', '-', '--cluster', followerA], 30_000, '"now"');
    expect(afterDelete.code, afterDelete.stderr).to.equal(0);
    expect((await runCli(['kv', 'get', 'swap', '--cluster', followerB])).stdout.trim()).to.equal('"now"');
  });

  it("refuses a value over the node's 1 MiB body limit, naming its size and the limit, and stores nothing", async () => {
    const text = JSON.stringify(valueOf(1100, 'huge'));
    const path = join(dir, 'huge.json');
    writeFileSync(path, text);
    const run = await runCli(['kv', 'set', 'huge', '--file', path, '--cluster', followerA]);
    expect(run.code).to.equal(1);
    expect(run.stderr.trim()).to.equal(`graft: set huge: the value is ${Buffer.byteLength(text)} bytes as JSON; a node accepts at most 1048576 bytes (1 MiB)`);
    const fromStdin = await runCli(['kv', 'set', 'huge', '-', '--cluster', followerA], 30_000, text);
    expect(fromStdin.code).to.equal(1);
    expect(fromStdin.stderr).to.contain('a node accepts at most 1048576 bytes');
    const get = await runCli(['kv', 'get', 'huge', '--cluster', followerB]);
    expect(get.code).to.equal(1);
    expect(get.stderr).to.match(/not found/);
  });

  it('giving the value twice, or not at all, is a usage error (exit 2) that says how to give it', async () => {
    const path = join(dir, 'one.json');
    writeFileSync(path, '1');
    const both = await runCli(['kv', 'set', 'k', '1', '--file', path, '--cluster', followerA]);
    expect(both.code).to.equal(2);
    expect(both.stderr.split('\n')[0]).to.equal('error: JSON given twice, as an argument and with --file; give only one');
    const bothStdin = await runCli(['kv', 'set', 'k', '-', '--file', path, '--cluster', followerA], 30_000, '2');
    expect(bothStdin.code).to.equal(2);
    expect(bothStdin.stderr).to.contain('given twice');
    const none = await runCli(['kv', 'set', 'k', '--cluster', followerA]);
    expect(none.code).to.equal(2);
    expect(none.stderr.split('\n')[0]).to.equal('error: missing JSON: give it as an argument, as - to read standard input, or with --file PATH');
    const casNone = await runCli(['kv', 'cas', 'k', 'null', '--cluster', followerA]);
    expect(casNone.code).to.equal(2);
    expect(casNone.stderr).to.contain('error: missing NEW_JSON');
    const casBoth = await runCli(['kv', 'cas', 'k', 'null', '1', '--file', path, '--cluster', followerA]);
    expect(casBoth.code).to.equal(2);
    expect(casBoth.stderr).to.contain('error: NEW_JSON given twice');
    const get = await runCli(['kv', 'get', 'k', '--cluster', followerB]);
    expect(get.stderr).to.match(/not found/);
  });

  it('a missing file is named with the reason (exit 1)', async () => {
    const path = join(dir, 'no-such.json');
    const run = await runCli(['kv', 'set', 'k', '--file', path, '--cluster', followerA]);
    expect(run.code).to.equal(1);
    expect(run.stderr.trim()).to.equal(`graft: cannot read value file ${path}: ENOENT: no such file or directory`);
  });

  it('invalid JSON names the file, or standard input, with the line and column of the error', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{\n  "a": 1,\n  "b": }\n');
    const run = await runCli(['kv', 'set', 'k', '--file', path, '--cluster', followerA]);
    expect(run.code).to.equal(1);
    expect(run.stderr.trim()).to.equal(`graft: value file ${path} is not valid JSON: Unexpected token '}' at line 3, column 8`);
    const stdin = await runCli(['kv', 'set', 'k', '-', '--cluster', followerA], 30_000, '[1, 2,, 3]');
    expect(stdin.code).to.equal(1);
    expect(stdin.stderr.trim()).to.equal("graft: standard input is not valid JSON: Unexpected token ',' at line 1, column 7");
  });

  it('an empty file or empty standard input is an error that says so', async () => {
    const path = join(dir, 'empty.json');
    writeFileSync(path, '\n');
    const file = await runCli(['kv', 'set', 'k', '--file', path, '--cluster', followerA]);
    expect(file.code).to.equal(1);
    expect(file.stderr.trim()).to.equal(`graft: value file ${path} is empty; it must hold a JSON value`);
    const stdin = await runCli(['kv', 'set', 'k', '-', '--cluster', followerA], 30_000, '');
    expect(stdin.code).to.equal(1);
    expect(stdin.stderr.trim()).to.equal('graft: standard input is empty; it must hold a JSON value');
  });
});
