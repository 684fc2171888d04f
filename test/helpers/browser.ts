import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The Chromium the browser tests drive: Debian's package, or GRAFT_CHROMIUM. Never a browser playwright downloads. */
export const CHROMIUM_PATH = process.env['GRAFT_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Headless, and quiet on the network: without the last four flags Chromium keeps calling Google's
 * services (component updates, sync, field trials), which on a machine without Internet access only
 * slows it down. No sandbox: tests may run as root, where Chromium's sandbox refuses to start.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium, or says in one line why it cannot (for a test to print as it skips). */
export async function launchChromium(): Promise<Browser | { readonly unavailable: string }> {
  if (!existsSync(CHROMIUM_PATH)) {
    return {
      unavailable: `no browser at ${CHROMIUM_PATH}: install Chromium (Debian: apt-get install chromium) or set GRAFT_CHROMIUM to a Chromium or Chrome binary`,
    };
  }
  try {
    return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 15_000 });
  } catch (error) {
    return { unavailable: `Chromium at ${CHROMIUM_PATH} did not start: ${(error as Error).message.split('\n')[0]}` };
  }
}
