import { decodeFrame, FRAME_VERSION } from '../../src/transport/codec.ts';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ProcessCluster, waitUntil } from '../helpers/processes.ts';
import { mountTmpfs, tmpfsUnavailable, unmount } from '../helpers/tmpfs.ts';
import { http } from '../helpers/wal-audit.ts';

/**
 * Faults that come from outside the nodes, shown on real `graft start` processes: a disk that fills
 * up, a data directory deleted under a follower, and a peer that sends numbers no node can hold.
 */

const IDS = ['1', '2', '3'];

/** Hands leadership from `leader` to `target` through the HTTP API and waits until all of `ids` see it. */
async function transferLeadership(cluster: ProcessCluster, ids: readonly string[], leader: string, target: string): Promise<{ leader: string; term: number }> {
  const answer = await http(cluster.address(leader), 'POST', '/admin/leader/transfer', { id: target });
  expect(answer?.status, `transfer from ${leader} to ${target}: ${JSON.stringify(answer?.json)}`).to.equal(200);
  expect(answer?.json['leader']).to.equal(target);
  const after = await cluster.agreedLeader(ids);
  expect(after.leader, 'the leader after the transfer').to.equal(target);
  return after;
}

/** Reads every key of `expected` from node `id`'s own copy (a stale read) and compares the values. */
async function expectAllOn(cluster: ProcessCluster, id: string, expected: ReadonlyMap<string, unknown>): Promise<void> {
  const keys = [...expected.keys()];
  for (let i = 0; i < keys.length; i += 25) {
    await Promise.all(
      keys.slice(i, i + 25).map(async (key) => {
        const read = await http(cluster.address(id), 'GET', `/kv/${key}?consistency=stale`);
        expect(read?.status, `stale read of acknowledged key ${key} on node ${id}`).to.equal(200);
        expect(read?.json['value'], `acknowledged key ${key} on node ${id}`).to.deep.equal(expected.get(key));
      }),
    );
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('process: a follower whose disk fills up stops for real, and is caught up after a restart', function () {
  this.timeout(60_000);
  const VICTIM = '3';
  let cluster: ProcessCluster | undefined;
  let mountPoint: string | null = null;

  before(async function () {
    const why = tmpfsUnavailable();
    if (why !== null) {
      console.log(`      SKIPPED: this test fills a small tmpfs, and none can be mounted here: ${why}`);
      this.skip();
    }
    cluster = await ProcessCluster.create(3, 1000, {
      prepare: (id, dataDir) => {
        if (id !== VICTIM) return;
        mkdirSync(dataDir, { recursive: true });
        mountTmpfs(dataDir, '512k');
        mountPoint = dataDir;
      },
    });
  });

  after(async () => {
    // Processes first: a file open on the tmpfs keeps it busy.
    await cluster?.killAll();
    if (mountPoint !== null) unmount(mountPoint);
    if (cluster !== undefined) await cluster.stop();
    // If create failed after the mount, its temp dir is known only through the mount point.
    else if (mountPoint !== null) rmSync(join(mountPoint, '..', '..'), { recursive: true, force: true });
  });

  it('exits 1 naming the failed write, the others keep taking writes, and the same leader catches it up in the same term', async () => {
    const c = cluster!;
    const disk = mountPoint!;
    let { leader, term } = await c.agreedLeader(IDS);
    if (leader === VICTIM) ({ leader, term } = await transferLeadership(c, IDS, leader, '1'));
    const victim = c.nodes.get(VICTIM)!;

    // Several writers put values of a few KB through the leader until the victim's disk is full and it stops.
    const acknowledged = new Map<string, unknown>();
    let exitedAt: number | null = null;
    let exitCode: number | null = null;
    const exited = victim.exited.then((code) => {
      exitedAt = Date.now();
      exitCode = code;
    });
    let fullAt: number | null = null;
    const isFull = async (): Promise<boolean> => {
      const fs = await statfs(disk);
      return fs.bavail * fs.bsize < 8192; // less than two pages: a write of a record can no longer fit
    };
    const loadDeadline = Date.now() + 25_000;
    const watcher = (async () => {
      while (exitedAt === null && Date.now() < loadDeadline) {
        if (fullAt === null && (await isFull())) fullAt = Date.now();
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20))]);
      }
    })();
    const put = async (key: string, value: unknown): Promise<boolean> => {
      const answer = await http(c.address(leader), 'PUT', `/kv/${key}`, value);
      if (answer?.status !== 200) return false;
      acknowledged.set(key, value);
      return true;
    };
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let seq = 0; exitedAt === null && Date.now() < loadDeadline; seq++) {
        await put(`fill-${w}-${seq}`, { w, seq, pad: `${w}:${seq}:`.padEnd(3000, 'x') });
      }
    });
    await Promise.all([...writers, watcher]);
    expect(exitedAt, `node ${VICTIM} still runs after 25 s of writes onto its 512 KiB disk`).to.not.equal(null);
    expect(await isFull(), `node ${VICTIM}'s disk is full`).to.equal(true);
    fullAt ??= exitedAt; // it stopped between two looks at its disk
    expect(exitCode, `node ${VICTIM}'s exit code`).to.equal(1);
    expect(exitedAt! - fullAt!, 'ms from a full disk to the exit').to.be.below(5000);

    const reason = new RegExp(
      `^graft: node ${VICTIM} stopped after a fatal error: write to the log failed: ${escapeRegExp(join(disk, 'wal-'))}\\d{10}\\.log: (\\d+) of (\\d+) bytes written: (ENOSPC: .*|a write made no progress \\(the disk is probably full\\)); `,
    );
    const reasons = victim.stderrLines.filter((line) => line.startsWith('graft: '));
    expect(reasons, `node ${VICTIM}'s stderr:\n${victim.stderrLines.join('\n')}`).to.have.lengthOf(1);
    const [, done, total] = reason.exec(reasons[0]!) ?? expect.fail(`the reason names the failed write: ${reasons[0]}`);
    expect(Number(done)).to.be.below(Number(total));

    // The other two are a quorum: every write succeeds without the victim.
    const before = acknowledged.size;
    for (let i = 0; i < 20; i++) expect(await put(`after-${i}`, { i }), `write ${i} after node ${VICTIM} stopped`).to.equal(true);
    expect(before, 'writes acknowledged while the disk filled').to.be.greaterThan(20);
    expect(await c.agreedLeader(IDS.filter((id) => id !== VICTIM))).to.deep.equal({ leader, term });

    // Room on the disk again, and the node back: the same leader catches it up, with no election.
    const commitIndex = (await c.status(leader))!.commitIndex;
    execFileSync('mount', ['-o', 'remount,size=64m', disk], { stdio: 'pipe' });
    await c.start(VICTIM).waitForLine(/listening on/);
    const back = await waitUntil(
      `node ${VICTIM} to apply up to ${commitIndex}`,
      async () => {
        const view = await c.status(VICTIM);
        return view !== null && view.appliedIndex >= commitIndex ? view : null;
      },
      10_000,
    );
    expect({ leader: back.leader, term: back.term }, `node ${VICTIM}'s view once caught up`).to.deep.equal({ leader, term });
    expect(await c.agreedLeader(IDS), 'leader and term after the restart').to.deep.equal({ leader, term });
    await expectAllOn(c, VICTIM, acknowledged);
  });
});

describe('process: a follower whose data directory is deleted is caught up by the same leader', function () {
  this.timeout(60_000);
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await ProcessCluster.create(3, 1000);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('the leader sees the lost entries, warns, and sends them again at once, in the same term', async () => {
    const { leader, term } = await cluster.agreedLeader(IDS);
    const follower = IDS.find((id) => id !== leader)!;
    const written = new Map<string, unknown>();
    let lastIndex = 0;
    for (let i = 0; i < 30; i++) {
      const value = { i, text: `value ${i}` };
      const answer = await http(cluster.address(leader), 'PUT', `/kv/gone-${i}`, value);
      expect(answer?.status, `write ${i}`).to.equal(200);
      written.set(`gone-${i}`, value);
      lastIndex = answer!.json['index'] as number;
    }
    // The follower has acknowledged those entries before it loses them.
    await waitUntil(`node ${follower} to apply ${lastIndex}`, async () => ((await cluster.status(follower))?.appliedIndex ?? 0) >= lastIndex);

    await cluster.nodes.get(follower)!.kill('SIGKILL');
    rmSync(cluster.dataDir(follower), { recursive: true, force: true });
    expect(existsSync(cluster.dataDir(follower))).to.equal(false);
    const commitIndex = (await cluster.status(leader))!.commitIndex;

    await cluster.start(follower).waitForLine(/listening on/);
    const listeningAt = Date.now();
    await waitUntil(
      `node ${follower} to apply up to ${commitIndex} again`,
      async () => ((await cluster.status(follower))?.appliedIndex ?? 0) >= commitIndex,
      5000,
    );
    expect(Date.now() - listeningAt, 'ms to catch up').to.be.below(5000);

    const warning = new RegExp(
      ` WARN \\[node ${leader}[\\]/].* follower ${follower}'s log ends at index 0, below the (\\d+) it acknowledged: it lost entries; sending them again`,
    );
    await cluster.nodes.get(leader)!.waitForLine(warning, 2000);
    const acknowledgedBefore = Number(warning.exec(cluster.nodes.get(leader)!.lines.find((l) => warning.test(l))!)![1]);
    expect(acknowledgedBefore).to.be.at.least(lastIndex);
    expect(await cluster.agreedLeader(IDS), 'leader and term after the restart').to.deep.equal({ leader, term });
    await expectAllOn(cluster, follower, written);
  });
});

describe('process: frames with numbers no node can hold, sent to every node, take none down', function () {
  this.timeout(60_000);
  const SPY = '0'; // a configured member that sorts below the real ones, so it may dial them all
  let cluster: ProcessCluster;
  const sockets: WebSocket[] = [];

  before(async () => {
    cluster = await ProcessCluster.create(3, 500, { absentMembers: [SPY] });
    // A new cluster elects its first leader once every member has asked for votes (RejoinGuard), so
    // SPY runs until a leader is known, and is gone before the test speaks as it.
    await cluster.start(SPY).waitForLine(/listening on/);
    await cluster.agreedLeader([SPY, ...IDS]);
    await cluster.nodes.get(SPY)!.kill('SIGKILL');
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    await cluster?.stop();
  });

  /** A connection to node `id` as the member SPY, hello sent. */
  async function connectAsSpy(id: string): Promise<WebSocket> {
    const ws = new WebSocket(`ws://${cluster.address(id)}/raft`);
    sockets.push(ws);
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ v: FRAME_VERSION, hello: { from: SPY, to: id } }));
    return ws;
  }

  function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  it('refuses terms beyond 2^47, ignores a match index beyond the log, and the cluster still elects and writes', async () => {
    const { leader, term } = await cluster.agreedLeader(IDS);

    for (const id of IDS) {
      // Terms a node could not hold and still elect after: the frame is refused and the connection closed.
      for (const hostileTerm of [2 ** 48 - 1, 2 ** 48]) {
        const ws = await connectAsSpy(id);
        const done = closed(ws);
        ws.send(
          JSON.stringify({
            v: FRAME_VERSION,
            messages: [{ type: 'RequestVote', from: SPY, to: id, term: hostileTerm, lastLogIndex: 0, lastLogTerm: 0, transfer: false }],
          }),
        );
        const { code, reason } = await done;
        expect(code, `node ${id} closes on term ${hostileTerm}`).to.equal(1008);
        expect(reason).to.match(new RegExp(`^messages\\[0\\]\\.term: ${hostileTerm} is beyond the largest term a node can hold`));
      }

      // A well-formed response whose match index lies far beyond any log: the leader ignores it, followers drop it.
      const ws = await connectAsSpy(id);
      const answered = new Promise<{ granted: boolean }>((resolve) =>
        ws.on('message', (data: Buffer) => {
          // Nodes send binary frames; the codec reads them as a peer would.
          const response = decodeFrame(data, 1 << 24).find((m) => m.type === 'PreVoteResponse');
          if (response !== undefined) resolve(response);
        }),
      );
      ws.send(
        JSON.stringify({
          v: FRAME_VERSION,
          messages: [
            {
              type: 'AppendEntriesResponse',
              from: SPY,
              to: id,
              term,
              success: true,
              matchIndex: 10 ** 12,
              rejectedIndex: 0,
              conflictIndex: 0,
              conflictTerm: null,
              readRound: 0,
            },
          ],
        }),
      );
      // Frames on one connection are handled in order: the answer to this pre-vote means the response was handled.
      ws.send(JSON.stringify({ v: FRAME_VERSION, messages: [{ type: 'PreVote', from: SPY, to: id, term: term + 1, lastLogIndex: 0, lastLogTerm: 0 }] }));
      expect((await answered).granted, `node ${id} grants a pre-vote to an empty log`).to.equal(false);
      expect(ws.readyState, `node ${id} keeps a connection that sent a well-formed frame`).to.equal(WebSocket.OPEN);
      ws.close();
    }

    await cluster.nodes
      .get(leader)!
      .waitForLine(
        new RegExp(
          ` WARN \\[node ${leader}[\\]/].* ignored a AppendEntriesResponse from ${SPY}: it claims to match up to index ${10 ** 12}, beyond this leader's last index \\d+`,
        ),
        2000,
      );
    for (const id of IDS) {
      const node = cluster.nodes.get(id)!;
      expect(node.running(), `node ${id} still runs`).to.equal(true);
      expect(
        node.lines.filter((l) => / ERROR /.test(l) || /handling a message from .* failed/.test(l)),
        `node ${id}'s errors`,
      ).to.deep.equal([]);
      // Each bad frame closed its connection (above); the log says so once a minute per peer, with the count.
      const warned = node.lines.filter((l) => / WARN .*dropping connection to 0: bad frame/.test(l));
      expect(warned, `node ${id}'s warnings of bad frames`).to.have.length(1);
      expect(warned[0])
        .to.include(String(2 ** 48 - 1))
        .and.to.match(/badFramesSinceStart=1\b/);
      const view = await cluster.status(id);
      expect(view?.term, `node ${id}'s term`).to.be.below(1000);
    }

    // Still elects: leadership moves (a quorum of 3 of the 4 members needs every real node) to a higher, small term.
    const target = IDS.find((id) => id !== leader)!;
    const after = await transferLeadership(cluster, IDS, leader, target);
    expect(after.term).to.be.above(term).and.below(1000);
    // Still writes, through every node, and reads back everywhere.
    for (const id of IDS) {
      expect((await http(cluster.address(id), 'PUT', `/kv/after-${id}`, { via: id }))?.status, `write through node ${id}`).to.equal(200);
    }
    for (const id of IDS) {
      expect((await http(cluster.address(id), 'GET', `/kv/after-${leader}`))?.json).to.deep.equal({ value: { via: leader } });
    }
  });
});
