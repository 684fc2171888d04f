import { freePort } from '../../test/helpers/ports.ts';

export { freePort };

/** `size` members, ids 1..size, each at a free loopback port. */
export async function loopbackMembers(size: number): Promise<Record<string, string>> {
  const members: Record<string, string> = {};
  for (let id = 1; id <= size; id++) members[String(id)] = `127.0.0.1:${await freePort()}`;
  return members;
}
