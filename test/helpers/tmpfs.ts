import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why a tmpfs cannot be mounted here, or null when it can (tried for real on a scratch directory). */
export function tmpfsUnavailable(): string | null {
  if (process.platform !== 'linux') return `this is ${process.platform}, not Linux`;
  if (process.getuid?.() !== 0) return `not running as root (uid ${process.getuid?.()})`;
  const probe = mkdtempSync(join(tmpdir(), 'graft-tmpfs-probe-'));
  try {
    mountTmpfs(probe, '64k');
    unmount(probe);
    return null;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `mount -t tmpfs failed: ${stderr !== undefined && stderr !== '' ? stderr : (error as Error).message}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `size` (e.g. `512k`) on the existing directory `dir`: a disk that fills up. */
export function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
}

/** Unmounts `dir`, detaching it lazily if something still holds it open. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch (error) {
    console.log(`      could not unmount ${dir}: ${(error as Error).message}; detaching it lazily`);
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}
