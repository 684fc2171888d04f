/**
 * Takes the README's picture of the dashboard (docs/dashboard.png) from a real 3-node cluster of
 * `graft start` processes: writes go on for a few seconds, the leader is killed, a new one leads,
 * and the page of a follower is photographed. Run it from the repository:
 *
 *   node --conditions=graft-source --import tsx test/tools/dashboard-screenshot.ts [OUT.png]
 */
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../helpers/browser.ts';
import { ProcessCluster } from '../helpers/processes.ts';

const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const ids = ['1', '2', '3'];

const browser = await launchChromium();
if ('unavailable' in browser) {
  console.error(browser.unavailable);
  process.exit(1);
}
const cluster = await ProcessCluster.create(3, 300, { extraConfig: 'snapshot:\n  entries: 2500' });
try {
  const { leader } = await cluster.agreedLeader(ids);
  const follower = ids.find((id) => id !== leader)!;
  const page = await browser.newPage({ viewport: { width: 1180, height: 860 }, deviceScaleFactor: 1 });
  await page.goto(`http://${cluster.address(follower)}/`);
  await page.locator(`#leader[data-leader="${leader}"]`).waitFor({ timeout: 10_000 });

  // A steady write load through the follower (which forwards to the leader), for the throughput chart.
  let writing = true;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let n = 0; writing; n++) {
      await fetch(`http://${cluster.address(follower)}/kv/key-${w}-${n % 50}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ writer: w, n }),
        signal: AbortSignal.timeout(3000),
      }).catch(() => undefined);
    }
  });
  await new Promise((resolve) => setTimeout(resolve, 5000));
  await cluster.nodes.get(leader)!.kill('SIGKILL');
  const elected = await cluster.agreedLeader(ids.filter((id) => id !== leader));
  await page.locator(`#leader[data-leader="${elected.leader}"]`).waitFor({ timeout: 10_000 });
  await page.locator(`tr[data-member-id="${leader}"][data-state="down"]`).waitFor({ timeout: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 4000));
  writing = false;
  await Promise.all(writers);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await cluster.stop();
}
