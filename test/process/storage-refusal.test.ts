import { expect } from 'chai';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import { freePort } from '../helpers/ports.ts';
import { runCli } from '../helpers/processes.ts';

describe('process: graft start refuses storage it cannot trust', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-refusal-'));
    config = join(dir, 'cluster.yaml');
    writeFileSync(config, `electionTimeout: 150\nconfiguration:\n  1: 127.0.0.1:${await freePort()}\n  2: 127.0.0.1:${await freePort()}\n`);
    const storage = new FileStorage({ dir: join(dir, 'data', '1'), identity: { machineId: '1', members: ['1', '2'] } });
    await storage.load();
    await storage.append([1, 2, 3].map((index) => ({ index, term: 1, kind: 'normal' as const, data: `{"n":${index}}` })));
    await storage.saveHardState({ term: 1, vote: '1', commit: 3 });
    await storage.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a data directory that belongs to another machine', async () => {
    cpSync(join(dir, 'data', '1'), join(dir, 'data', '2'), { recursive: true });
    const run = await runCli(['start', '--config', config, '--id', '2', '--data-dir', join(dir, 'data')]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain(`graft: data directory ${join(dir, 'data', '2')}: it belongs to machine 1, not 2`);
  });

  it('a data directory that holds the log of another cluster than cluster.yaml names', async () => {
    const named = join(dir, 'named.yaml');
    writeFileSync(named, `${readFileSync(config, 'utf8')}clusterId: beta\n`);
    const storage = new FileStorage({ dir: join(dir, 'other', '1'), identity: { machineId: '1', members: ['1', '2'] } });
    await storage.load();
    const configuration = { voters: ['1', '2'], outgoing: [], learners: [], addresses: {}, cluster: 'alpha' };
    await storage.append([{ index: 1, term: 1, kind: 'config', data: JSON.stringify(configuration) }]);
    await storage.saveHardState({ term: 1, vote: '1', commit: 1 });
    await storage.close();
    const run = await runCli(['start', '--config', named, '--id', '1', '--data-dir', join(dir, 'other')]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain("graft: the log is of cluster alpha, but the configuration names cluster beta: this is another cluster's data");
  });

  it('a log with a damaged record before its end, naming the file and offset, and leaving it as it was', async () => {
    const node = join(dir, 'data', '1');
    const wal = join(
      node,
      readdirSync(node).find((n) => n.startsWith('wal-'))!,
    );
    const bytes = readFileSync(wal);
    bytes[20]! ^= 0xff; // inside the first record's payload
    writeFileSync(wal, bytes);
    const run = await runCli(['start', '--config', config, '--id', '1', '--data-dir', join(dir, 'data')]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain(`graft: ${wal}: offset 0: record payload checksum mismatch; refusing to start`);
    expect(readFileSync(wal).equals(bytes)).to.equal(true);
  });
});
