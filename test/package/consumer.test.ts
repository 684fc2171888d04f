import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../helpers/ports.ts';

// The package as a user gets it: `npm pack` (whose `prepare` script builds dist/), installed from the
// tarball into a fresh project, then used with plain `node`, the repository's `tsc`, and the `graft` bin.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const execFileAsync = promisify(execFile);

/**
 * The environment of a user's shell: no loader or condition flags of this test's own Node, and none of
 * the variables npm sets for the script running this test (`npm_config_local_prefix` would make the
 * consumer's `npm install` install into this repository). The user's npm configuration stays.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key === 'npm_config_local_prefix') continue;
    if (key.startsWith('npm_') && !key.startsWith('npm_config_')) continue;
    env[key] = value;
  }
  return env;
}

/** Runs `file` to completion in `cwd`; rejects with its output when it fails. */
async function run(file: string, args: readonly string[], cwd: string, timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: error });
  }
}

/** A 3-node cluster on the in-memory network of 'graft-raft/testing', run by plain `node` in the consumer. */
const CLUSTER_SCRIPT = `
import { GraftInstance, parseClusterConfig, silentLogger, superjsonSerializer } from 'graft-raft';
import { MemoryNetwork } from 'graft-raft/testing';

const config = parseClusterConfig('electionTimeout: 100\\nconfiguration:\\n  1: a:1\\n  2: b:1\\n  3: c:1\\n');
const network = new MemoryNetwork();
const applied = { 1: [], 2: [], 3: [] };
const nodes = ['1', '2', '3'].map((id) => new GraftInstance({
  config, machineId: id, logger: silentLogger, transport: network.transport(id),
  serializer: superjsonSerializer(),
  applicator: (op) => applied[id].push(op.n + (op.at instanceof Date ? '@date' : '@lost')),
}));
await Promise.all(nodes.map((node) => node.start()));
for (let n = 0; n < 12; n++) await nodes[n % 3].applyOperation({ n, at: new Date(n) });
await Promise.all(nodes.map((node) => node.readBarrier()));
await Promise.all(nodes.map((node) => node.stop()));
console.log(JSON.stringify({ entry: import.meta.resolve('graft-raft'), testing: import.meta.resolve('graft-raft/testing'), applied }));
`;

/** A TypeScript consumer of both entries, checked against the shipped .d.ts. */
const CONSUMER_TS = `
import { GraftError, GraftInstance, MemoryStorage, jsonSerializer, parseClusterConfig, type GraftStatus, type Storage } from 'graft-raft';
import { MemoryNetwork, storageConformance, type StorageConformanceCase, type StorageSubject } from 'graft-raft/testing';

type Op = { readonly kind: 'add'; readonly amount: number };
const config = parseClusterConfig('electionTimeout: 100\\nconfiguration:\\n  1: a:1\\n');
const counter = new GraftInstance<Op, number>({
  config, machineId: '1', transport: new MemoryNetwork().transport('1'),
  serializer: jsonSerializer<Op>(), applicator: (op) => op.amount,
});
export const total: Promise<number> = counter.applyOperation({ kind: 'add', amount: 2 });
export const status: GraftStatus = counter.status();
export const storage: Storage = new MemoryStorage();
const subject: StorageSubject = { create: () => new MemoryStorage(), restart: (previous) => previous };
export const cases: StorageConformanceCase[] = storageConformance(() => subject);
export const isGraftError = (e: unknown): boolean => e instanceof GraftError && e.code === 'NOT_LEADER';
`;

describe('package: the packed tarball, installed into a fresh project', function () {
  this.timeout(60_000);
  let dir: string;
  let packed: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-consumer-'));
    // `npm pack` runs `prepare`, which builds dist/ from the current source.
    const [pack] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', dir], ROOT, 50_000)) as { filename: string }[];
    const tarball = join(dir, pack!.filename);
    packed = (await run('tar', ['-tzf', tarball], dir))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replace(/^package\//, ''));
    const project = join(dir, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'graft-consumer', private: true, type: 'module' }));
    // Dependencies come from the npm cache when it has them (it does after `npm ci` here), else the registry.
    await run('npm', ['install', tarball, '--prefix', project, '--prefer-offline', '--no-audit', '--no-fund'], project, 50_000);
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const project = (): string => join(dir, 'project');

  it('holds dist/, the bin, package.json and the docs, and no sources, tests or benches', () => {
    const allowed = new Set(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin/graft.js']);
    expect(
      packed.filter((path) => !path.startsWith('dist/') && !allowed.has(path)),
      'files outside dist/',
    ).to.deep.equal([]);
    expect(
      packed.filter((path) => /\.ts$/.test(path) && !/\.d\.ts$/.test(path)),
      'TypeScript sources',
    ).to.deep.equal([]);
    expect(
      packed.filter((path) => /(^|\/)(test|bench|examples)\/|\.test\./.test(path)),
      'tests, benches, examples',
    ).to.deep.equal([]);
    expect(packed).to.include.members([...allowed, 'dist/index.js', 'dist/index.d.ts', 'dist/testing.js', 'dist/testing.d.ts', 'dist/cli/main.js']);
  });

  it('imports with plain node, resolving to dist/, and a 3-node cluster applies the same operations in the same order', async () => {
    expect(existsSync(join(project(), 'node_modules', 'tsx')), 'tsx is not a dependency').to.equal(false);
    writeFileSync(join(project(), 'cluster.mjs'), CLUSTER_SCRIPT);
    const out = JSON.parse(await run(process.execPath, ['cluster.mjs'], project())) as { entry: string; testing: string; applied: Record<string, string[]> };
    expect(out.entry).to.match(/\/node_modules\/graft-raft\/dist\/index\.js$/);
    expect(out.testing).to.match(/\/node_modules\/graft-raft\/dist\/testing\.js$/);
    const expected = Array.from({ length: 12 }, (_, n) => `${n}@date`);
    expect(out.applied).to.deep.equal({ 1: expected, 2: expected, 3: expected });
  });

  it('runs examples/embedded/cluster.js as written, with plain node: three members agree, and one takes a snapshot', async () => {
    copyFileSync(join(ROOT, 'examples', 'embedded', 'cluster.js'), join(project(), 'embedded.js'));
    const lines = (await run(process.execPath, ['embedded.js'], project())).trim().split('\n');
    expect(lines).to.have.length(4);
    for (const [i, line] of lines.slice(0, 3).entries()) expect(line).to.match(new RegExp(`^member ${i + 1} \\((Leader|Follower)\\) counts 9 visits$`));
    expect(lines.filter((line) => line.includes('(Leader)'))).to.have.length(1);
    // Nine adds, and the entries that opened the members' sessions and began the leader's term.
    const index = Number(/^member 1 took a snapshot at index (\d+)$/.exec(lines[3]!)?.[1]);
    expect(index, lines[3]).to.be.at.least(10);
  });

  it("type-checks a TypeScript consumer, the README's embedding example, examples/kvstore and examples/embedded, against the shipped .d.ts", async () => {
    writeFileSync(join(project(), 'consumer.ts'), CONSUMER_TS);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const embedding = /## Embedding Graft[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(embedding, "the README's embedding example").to.be.a('string');
    writeFileSync(join(project(), 'readme-embedding.ts'), embedding!);
    // The examples import only 'graft-raft': a relative import into the repository would not resolve here.
    for (const example of ['kvstore', 'embedded']) {
      const into = join(project(), 'examples', example);
      mkdirSync(into, { recursive: true });
      for (const file of readdirSync(join(ROOT, 'examples', example)).filter((f) => f.endsWith('.ts'))) {
        copyFileSync(join(ROOT, 'examples', example, file), join(into, file));
      }
    }
    writeFileSync(
      join(project(), 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: false,
          allowImportingTsExtensions: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        include: ['consumer.ts', 'readme-embedding.ts', 'examples'],
      }),
    );
    const files = (await run(TSC, ['-p', 'tsconfig.json', '--listFiles'], project())).split('\n');
    const graft = files.filter((f) => f.includes('/node_modules/graft-raft/'));
    expect(graft).to.include.members([
      join(project(), 'node_modules/graft-raft/dist/index.d.ts'),
      join(project(), 'node_modules/graft-raft/dist/testing.d.ts'),
    ]);
    expect(
      graft.filter((f) => !f.includes('/node_modules/graft-raft/dist/') || !f.endsWith('.d.ts')),
      'not the shipped .d.ts',
    ).to.deep.equal([]);
  });

  it('installs a `graft` bin that runs compiled JavaScript: --help, --version, and `graft start` of a one-node cluster', async () => {
    const bin = join(project(), 'node_modules', '.bin', 'graft');
    const help = await run(bin, ['--help'], project());
    expect(help)
      .to.match(/^Usage: graft /)
      .and.to.include('start')
      .and.to.include('kv');
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect((await run(bin, ['--version'], project())).trim()).to.equal(version);

    const port = await freePort();
    writeFileSync(join(project(), 'cluster.yaml'), `electionTimeout: 100\nconfiguration:\n  1: 127.0.0.1:${port}\ndataDir: ./data\n`);
    const node = spawn(bin, ['start', '--config', 'cluster.yaml', '--id', '1'], { cwd: project(), env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    for (const stream of [node.stdout, node.stderr]) createInterface({ input: stream }).on('line', (line) => lines.push(line));
    const exited = new Promise<number | null>((resolve) => node.once('exit', (code) => resolve(code)));
    try {
      let status: { id?: string; role?: string } | null = null;
      for (const deadline = Date.now() + 20_000; status?.role !== 'Leader';) {
        if (Date.now() > deadline) throw new Error(`graft start did not lead within 20 s; it printed:\n${lines.join('\n')}`);
        if (node.exitCode !== null) throw new Error(`graft start exited with ${node.exitCode}; it printed:\n${lines.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(2000) }).then(
          async (res) => (res.status === 200 ? ((await res.json()) as { id: string; role: string }) : null),
          () => null,
        );
      }
      expect(status.id).to.equal('1');
      expect(lines.join('\n')).to.match(/listening on 127\.0\.0\.1:\d+/);
    } finally {
      node.kill('SIGTERM');
    }
    expect(await exited, lines.join('\n')).to.equal(0);
    expect(lines.join('\n')).to.include('SIGTERM received, stopping');
  });
});
