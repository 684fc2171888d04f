import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { ProcessCluster } from '../helpers/processes.ts';

const IDS = ['1', '2', '3'];

describe('process: the live dashboard of a real 3-node cluster, in Chromium', function () {
  this.timeout(30_000);
  let browser: Browser | null = null;
  let cluster: ProcessCluster | null = null;

  before(async function () {
    const launched = await launchChromium();
    if ('unavailable' in launched) {
      console.log(`      skipping the dashboard browser tests: ${launched.unavailable}`);
      this.skip();
    }
    browser = launched as Browser;
    cluster = await ProcessCluster.create(3);
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  /** Opens node `id`'s dashboard; collects the page's script errors and console errors (a CSP refusal is one). */
  async function open(id: string): Promise<{ page: Page; errors: string[]; loads: () => number }> {
    const page = await browser!.newPage();
    const errors: string[] = [];
    let loads = 0;
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('load', () => loads++);
    const answer = await page.goto(`http://${cluster!.address(id)}/`);
    expect(answer?.status()).to.equal(200);
    return { page, errors, loads: () => loads };
  }

  it('shows the leader; after the leader is killed it shows the new leader and the old one down, without a reload', async () => {
    const { leader } = await cluster!.agreedLeader(IDS);
    const follower = IDS.find((id) => id !== leader)!;
    const { page, errors, loads } = await open(follower);

    await page.locator(`#leader[data-leader="${leader}"]`).waitFor({ timeout: 5000 });
    for (const id of IDS) await page.locator(`tr[data-member-id="${id}"][data-state="up"]`).waitFor({ timeout: 5000 });
    expect(await page.locator(`tr[data-member-id="${leader}"] td.role`).textContent()).to.equal('Leader');
    expect(await page.locator(`tr[data-member-id="${follower}"] .tag`).allTextContents()).to.include('this node');
    expect(await page.locator('#stream').getAttribute('data-state')).to.equal('live');
    // The same document all along: a reload would lose this.
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'before the kill'));

    await cluster!.nodes.get(leader)!.kill('SIGKILL');
    const survivors = IDS.filter((id) => id !== leader);
    const elected = await cluster!.agreedLeader(survivors);
    await page.locator(`#leader[data-leader="${elected.leader}"]`).waitFor({ timeout: 5000 });
    await page.locator(`tr[data-member-id="${leader}"][data-state="down"]`).waitFor({ timeout: 5000 });
    expect(await page.locator(`tr[data-member-id="${leader}"] .reason`).textContent()).to.equal('connection refused');
    expect(await page.locator(`tr[data-member-id="${elected.leader}"] td.role`).textContent()).to.equal('Leader');
    // The events say what happened: the old leader went down, and the new one leads.
    await page.locator('#events li[data-kind="connection"]', { hasText: `node ${leader} is down` }).waitFor({ timeout: 5000 });
    await page.locator('#events li[data-kind="leader"]', { hasText: `node ${elected.leader} leads in term ${elected.term}` }).waitFor({ timeout: 5000 });

    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).to.equal('before the kill');
    expect(loads()).to.equal(1);
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it('says when its own stream drops, and shows live views again once its node is back, without a reload', async () => {
    const id = IDS.find((i) => cluster!.nodes.get(i)!.running())!;
    const { page, loads } = await open(id);
    await page.locator('#stream[data-state="live"]').waitFor({ timeout: 5000 });
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'before the drop'));

    await cluster!.nodes.get(id)!.kill('SIGKILL');
    await page.locator('#stream[data-state="reconnecting"]').waitFor({ timeout: 5000 });
    expect(await page.locator('#stream-note').textContent()).to.match(/^Stream lost at .+; reconnecting/);

    await cluster!.start(id).waitForLine(/listening on/);
    await page.locator('#stream[data-state="live"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#stream-note').textContent()).to.match(/^Stream lost at .+, back at .+ \(\d+\.\d s without updates\)\.$/);
    await page.locator(`tr[data-member-id="${id}"][data-state="up"]`).waitFor({ timeout: 5000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).to.equal('before the drop');
    expect(loads()).to.equal(1);
    await page.close();
  });
});
