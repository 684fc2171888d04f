import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClusterConfig } from '../../src/config.ts';
import { KVStore } from '../../src/cli/apps/kvstore/kv-store.ts';
import { kvRoutes } from '../../src/cli/apps/kvstore/http-api.ts';
import { startAppNode } from '../../src/cli/apps/kvstore/node.ts';
import { freePort } from '../helpers/ports.ts';
import { recordingLogger } from '../helpers/recording-logger.ts';

describe('a hosted app whose state machine fails', function () {
  this.timeout(20_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'graft-app-failure-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("ends the node with the app's error, so that `graft start` exits 1 for a supervisor to restart it", async () => {
    const port = await freePort();
    const config = parseClusterConfig(`electionTimeout: 300\nconfiguration:\n  1: 127.0.0.1:${port}\n`, 'cluster.yaml');
    let broken: Error | null = null;
    const node = await startAppNode(
      { config, id: '1', dataDir: dir, logger: recordingLogger() },
      {
        // As the sqlite app does when its database copy fails: it records why, and stops the node.
        open: (options) => Object.assign(new KVStore(options), { failure: () => broken }),
        routes: (store) => (req, url) => kvRoutes(store, req, url),
        clientsMay: 'read and write keys',
      },
    );
    broken = new Error('the database copy failed: disk I/O error');
    await node.state.graft.stop();
    expect(await node.stopped).to.equal(broken);
  });

  it('a plain stop ends it with null', async () => {
    const port = await freePort();
    const config = parseClusterConfig(`electionTimeout: 300\nconfiguration:\n  1: 127.0.0.1:${port}\n`, 'cluster.yaml');
    const node = await startAppNode(
      { config, id: '1', dataDir: dir, logger: recordingLogger() },
      {
        open: (options) => Object.assign(new KVStore(options), { failure: () => null }),
        routes: (store) => (req, url) => kvRoutes(store, req, url),
        clientsMay: 'read and write keys',
      },
    );
    await node.stop();
    expect(await node.stopped).to.equal(null);
  });
});
