// A loopback probe process, forked twice by the cluster bench (cluster/loopback.ts): one runs a
// WebSocket echo server, the other measures round trips and the message rate against it. The same
// `ws` library and loopback interface as Graft's peers, without Raft: the machine's limit.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Histogram } from './histogram.ts';
import type { PingPongProtocol } from './protocol.ts';
import { serve } from './rpc.ts';

let server: WebSocketServer | null = null;

async function connect(port: number): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(socket, 'open');
  return socket;
}

serve<PingPongProtocol>({
  listen: async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(data)));
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  },

  roundTrip: async ({ port, bytes, seconds }) => {
    const socket = await connect(port);
    const message = Buffer.alloc(bytes, 1);
    const histogram = new Histogram();
    const deadline = performance.now() + seconds * 1000;
    await new Promise<void>((resolve) => {
      let sent = 0;
      const ping = (): void => {
        sent = performance.now();
        socket.send(message);
      };
      socket.on('message', () => {
        const now = performance.now();
        histogram.record(now - sent);
        if (now < deadline) ping();
        else resolve();
      });
      ping();
    });
    socket.close();
    return histogram.summary();
  },

  rate: async ({ port, bytes, window, seconds }) => {
    const socket = await connect(port);
    const message = Buffer.alloc(bytes, 1);
    let echoes = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    let outstanding = 0;
    await new Promise<void>((resolve) => {
      socket.on('message', () => {
        echoes++;
        outstanding--;
        if (performance.now() < deadline) {
          outstanding++;
          socket.send(message);
        } else if (outstanding === 0) resolve();
      });
      for (; outstanding < window; outstanding++) socket.send(message);
    });
    const elapsed = performance.now() - started;
    socket.close();
    return echoes / (elapsed / 1000);
  },
});
