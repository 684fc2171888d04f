/**
 * Entry data as versions before typed session fields wrote it (see src/session/legacy-command.ts):
 * only tests write it now, to check that such logs still apply.
 */
export const LEGACY_OPEN_SESSION = '\u0001open';

export function legacyOperation(session: number, seq: number, lowestOutstanding: number, op: string): string {
  return `\u0001op:${session}:${seq}:${lowestOutstanding}:${op}`;
}
