// One node of a replicated key-value store with a small HTTP API, on the node's own port (peers use
// /raft on the same port). Run one per member of the configuration, each in its own shell:
//   node --import tsx examples/kvstore/main.ts cluster.yaml 1
//   curl -X PUT 127.0.0.1:9001/kv/greeting -d '"hello"'; curl 127.0.0.1:9002/kv/greeting
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { GraftError, loadClusterConfig } from 'graft-raft';
import { KVStore } from './kv-store.ts';

const [configFile = 'cluster.yaml', id = '1'] = process.argv.slice(2);
const config = loadClusterConfig(configFile);
const address = config.members.get(id);
if (address === undefined) throw new Error(`${id} is not a member of ${configFile}`);

const server = createServer();
// Its own data directory, so that it never meets the files of `graft start` nodes.
const store = new KVStore({ config, machineId: id, server, dataDir: join('data', 'example') });

/** GET, PUT (body: JSON) and DELETE on /kv/:key. */
async function handle(req: IncomingMessage): Promise<[number, unknown]> {
  const match = /^\/kv\/([^/?]+)$/.exec(req.url ?? '');
  if (match === null) return [404, { error: 'not found' }];
  const key = decodeURIComponent(match[1]!);
  switch (req.method) {
    case 'GET': {
      const value = await store.get(key);
      return value === undefined ? [404, { error: 'no such key' }] : [200, { value }];
    }
    case 'PUT': {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      await store.set(key, JSON.parse(Buffer.concat(chunks).toString('utf8')));
      return [200, {}];
    }
    case 'DELETE':
      return [200, { existed: await store.delete(key) }];
    default:
      return [405, { error: 'use GET, PUT or DELETE' }];
  }
}

function reply(res: ServerResponse, [status, body]: [number, unknown]): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  handle(req).then(
    (answer) => reply(res, answer),
    (error: unknown) => {
      // A GraftError says why Graft could not serve: no leader yet, a timeout with the outcome unknown...
      if (error instanceof GraftError) reply(res, [503, { error: error.message, code: error.code }]);
      else reply(res, [400, { error: String(error) }]);
    },
  );
});
server.listen(address.port, address.host);
await store.graft.start();
console.log(`node ${id} listening on ${address.host}:${address.port}`);

process.once('SIGINT', () => {
  void store.graft.stop().then(() => server.close());
});
