/**
 * What a system error means for someone running `graft`, as one line with what to do, or null
 * for one that has no better words than its own.
 */
export function explainSystemError(error: unknown): string | null {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (typeof e !== 'object' || e === null || typeof e.code !== 'string') return null;
  const where = e.address === undefined ? '' : ` ${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port ?? '?'}`;
  if (e.syscall === 'listen') {
    if (e.code === 'EADDRINUSE')
      return `cannot listen on${where}: the port is in use (by another node, or another program); stop it, or give this member another address`;
    if (e.code === 'EADDRNOTAVAIL') return `cannot listen on${where}: this machine has no such address; check this member's address in the configuration`;
    if (e.code === 'EACCES') return `cannot listen on${where}: permission denied (ports below 1024 need privileges); choose a higher port`;
  }
  return null;
}
