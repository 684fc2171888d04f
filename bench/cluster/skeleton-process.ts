// A replication skeleton's process, forked once per member by the cluster bench (cluster/skeleton.ts):
// the least a Node program does for a lone durable write to a majority, with no Raft. Followers
// write each message durably, then send its number back; the leader sends each message to every
// follower and writes it to its own file at once, done when a majority of the writes are known
// durable. The same `ws` and durable appends as Graft's peers and log: what Node itself costs.
import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { appendDurably, DURABLE_APPEND } from './disk.ts';
import { Histogram } from './histogram.ts';
import type { SkeletonProtocol } from './protocol.ts';
import { serve } from './rpc.ts';

const openLog = (dir: string, name: string): Promise<FileHandle> => open(join(dir, name), DURABLE_APPEND ?? 'a');

serve<SkeletonProtocol>({
  follow: async ({ dir, name }) => {
    const log = await openLog(dir, name);
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket) =>
      socket.on('message', async (data: Buffer) => {
        await appendDurably(log, data);
        socket.send(data.subarray(0, 4));
      }),
    );
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  },

  lead: async ({ ports, dir, bytes, seconds }) => {
    const log = await openLog(dir, 'leader');
    const followers = await Promise.all(
      ports.map(async (port) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
        await once(socket, 'open');
        return socket;
      }),
    );
    const majority = Math.floor((followers.length + 1) / 2) + 1;
    const message = Buffer.alloc(bytes, 1);
    const histogram = new Histogram();
    let current = 0;
    let acknowledged: () => void = () => {};
    let failed: (error: Error) => void = () => {};
    // Each message carries its number: an answer to an earlier one (the slower follower's) is not counted.
    for (const socket of followers) socket.on('message', (data: Buffer) => data.readUInt32LE(0) === current && acknowledged());
    // A follower gone mid-run fails the measurement rather than leaving a write waiting for it.
    followers.forEach((socket, i) => socket.once('close', () => failed(new Error(`skeleton follower ${i + 1} closed its connection`))));
    const deadline = performance.now() + seconds * 1000;
    while (performance.now() < deadline) {
      const started = performance.now();
      message.writeUInt32LE(++current, 0);
      await new Promise<void>((resolve, reject) => {
        let durable = 0;
        const count = (): void => {
          if (++durable === majority) resolve();
        };
        acknowledged = count;
        failed = reject;
        for (const socket of followers) socket.send(message);
        appendDurably(log, message).then(count, reject);
      });
      histogram.record(performance.now() - started);
    }
    failed = () => {};
    for (const socket of followers) socket.close();
    await log.close();
    return histogram.summary();
  },
});
