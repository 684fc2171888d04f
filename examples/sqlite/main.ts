// One node of a replicated SQLite database with a small HTTP API, on the node's own port (peers use
// /raft on the same port). Run one per member of the configuration, each in its own shell:
//   node --import tsx examples/sqlite/main.ts cluster.yaml 1
//   curl -X POST 127.0.0.1:9001/sql/command -d '{"sql": "CREATE TABLE t (x)"}'
//   curl -X POST 127.0.0.1:9002/sql/query -d '{"sql": "SELECT * FROM t"}'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { GraftError, loadClusterConfig } from 'graft-raft';
import { SqlStore } from './sql-store.ts';

const [configFile = 'cluster.yaml', id = '1'] = process.argv.slice(2);
const config = loadClusterConfig(configFile);
const address = config.members.get(id);
if (address === undefined) throw new Error(`${id} is not a member of ${configFile}`);

const server = createServer();
// Its own data directory, so that it never meets the files of `graft start` nodes.
const store = new SqlStore({ config, machineId: id, server, dataDir: join('data', 'example-sqlite') });

/** POST /sql/command and POST /sql/query, body {"sql": "...", "params": [...]}. */
async function handle(req: IncomingMessage): Promise<[number, unknown]> {
  if (req.method !== 'POST' || (req.url !== '/sql/command' && req.url !== '/sql/query')) return [404, { error: 'POST /sql/command or /sql/query' }];
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const { sql, params = [] } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sql: string; params?: (string | number | null)[] };
  if (req.url === '/sql/command') return [200, { changes: await store.execute(sql, ...params) }];
  return [200, { rows: await store.query(sql, ...params) }];
}

function reply(res: ServerResponse, [status, body]: [number, unknown]): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  handle(req).then(
    (answer) => reply(res, answer),
    (error: unknown) => {
      // A GraftError says why Graft could not serve (no leader yet, a timeout); anything else is the SQL's fault.
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
