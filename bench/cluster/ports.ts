import { createServer } from 'node:net';

const given = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, release it); never the same one twice in a run. */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (address === null || typeof address === 'string') throw new Error('no port assigned');
    if (!given.has(address.port)) {
      given.add(address.port);
      return address.port;
    }
  }
}

/** `size` members, ids 1..size, each at a free loopback port. */
export async function loopbackMembers(size: number): Promise<Record<string, string>> {
  const members: Record<string, string> = {};
  for (let id = 1; id <= size; id++) members[String(id)] = `127.0.0.1:${await freePort()}`;
  return members;
}
