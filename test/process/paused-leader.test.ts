import { expect } from 'chai';
import { request } from 'node:http';
import { ProcessCluster, waitUntil } from '../helpers/processes.ts';
import { http } from '../helpers/wal-audit.ts';

/**
 * A leader lease (thesis §6.4.1) is measured on the leader's own clock; a process that was stopped
 * (SIGSTOP, a long GC pause, a suspended VM) must not count the time it did not see as lease time.
 * The probe: stop the leader, elect another leader and acknowledge a write without it, then resume
 * it while it is still cut off and read from it at once. A read it answers from its old lease
 * returns the value from before the acknowledged write.
 *
 * There is no firewall here, so the old leader is cut off by its peers' WebSockets: while it is
 * stopped the other two are SIGKILLed and restarted, which breaks every connection it had, and no new
 * one can be completed while it is stopped (the node with the smaller id dials; a stopped node
 * neither dials nor answers the upgrade, so the other side never sends its hello or any frame). The
 * other two are stopped in turn before the old leader resumes, so it stays cut off until the read
 * was handed to it.
 */

const IDS = ['1', '2', '3'];
const KEY = 'paused-leader';
// 10 in npm test; GRAFT_PAUSES=50 or more for a longer hunt.
const REPETITIONS = Number(process.env['GRAFT_PAUSES'] ?? 10);
/** Well past the node's own deadline for a request (5 s): a read that gets no answer by then hangs. */
const READ_TIMEOUT_MS = 10_000;

/** What a read sent with `startRead` came back with: an HTTP answer, or null when none came in time. */
type ReadAnswer = { status: number; body: string } | null;

/**
 * Sends the linearizable `GET /kv/<key>` to `address` on a connection of its own. `written` resolves
 * once the whole request is in the operating system's hands, so anything sent after it reaches the
 * node after it; `answer` resolves with what the node answered.
 */
function startRead(address: string, key: string): { written: Promise<void>; answer: Promise<ReadAnswer> } {
  let onWritten!: () => void;
  const written = new Promise<void>((resolve) => (onWritten = resolve));
  const answer = new Promise<ReadAnswer>((resolve) => {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    const req = request({ host, port, path: `/kv/${key}`, method: 'GET', agent: false, signal: AbortSignal.timeout(READ_TIMEOUT_MS) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(null));
    });
    req.on('finish', onWritten);
    req.on('error', () => {
      onWritten();
      resolve(null);
    });
    req.end();
  });
  return { written, answer };
}

/** What one repetition of the probe saw. */
interface Probe {
  readonly old: string;
  readonly oldTerm: number;
  readonly newLeader: string;
  readonly newTerm: number;
  /** The old leader's term and role when it answered /status after it had been handed the read. */
  readonly resumedTerm: number;
  readonly resumedRole: string;
  readonly read: ReadAnswer;
}

describe('process: a leader stopped past its lease, resumed while cut off, serves no stale lease read (readMode: lease)', function () {
  this.timeout(150_000);
  let cluster: ProcessCluster | undefined;

  before(async () => {
    cluster = await ProcessCluster.create(3, 300, { extraConfig: 'readMode: lease' });
  });

  after(async () => {
    // SIGKILL ends stopped processes too, so nothing outlives a failed repetition.
    await cluster?.stop();
  });

  it(`SIGSTOP the leader, elect another and acknowledge a write, SIGCONT the old one cut off and read from it: ${REPETITIONS} times, no stale value`, async () => {
    const c = cluster!;
    let current = await c.agreedLeader(IDS);
    let previous: unknown = { rep: -1 };
    expect((await http(c.address(current.leader), 'PUT', `/kv/${KEY}`, previous))?.status, 'the first write').to.equal(200);

    const probes: Probe[] = [];
    const stale: string[] = [];
    for (let rep = 0; rep < REPETITIONS; rep++) {
      const old = current.leader;
      const others = IDS.filter((id) => id !== old);
      const value = { rep };

      // A linearizable read on the leader just before it stops: in lease mode it holds a lease from
      // then on (its lease, or the round that confirmed the read, renewed it), for longer than it
      // takes to stop it. A leader elected a moment ago may not have one yet.
      const before = await http(c.address(old), 'GET', `/kv/${KEY}`);
      expect(before?.json, `repetition ${rep}: node ${old} reads the value before the write`).to.deep.equal({ value: previous });
      const leading = await c.status(old);
      expect({ role: leading?.role, term: leading?.term }, `repetition ${rep}: node ${old} still leads when it is stopped`).to.deep.equal({
        role: 'Leader',
        term: current.term,
      });
      // Stop the leader, then break every connection it had: its peers restart with the same data.
      c.nodes.get(old)!.child.kill('SIGSTOP');
      await Promise.all(others.map((id) => c.nodes.get(id)!.kill('SIGKILL')));
      await Promise.all(others.map((id) => c.start(id).waitForLine(/listening on/)));

      // The two of them are a majority: they elect a leader in a higher term and acknowledge a write.
      const next = await c.agreedLeader(others);
      expect(next.term, `repetition ${rep}: the new leader's term`).to.be.above(current.term);
      await waitUntil(
        `repetition ${rep}: the write of ${JSON.stringify(value)} to be acknowledged by node ${next.leader}`,
        async () => (await http(c.address(next.leader), 'PUT', `/kv/${KEY}`, value))?.status === 200,
        10_000,
      );

      // Stop them, resume the old leader, and hand it the read while it is cut off from both.
      for (const id of others) c.nodes.get(id)!.child.kill('SIGSTOP');
      c.nodes.get(old)!.child.kill('SIGCONT');
      const read = startRead(c.address(old), KEY);
      await read.written;
      // It answers a request sent after the read, before anyone else runs again: it had the read while cut off.
      const resumed = await c.status(old);
      expect(resumed, `repetition ${rep}: node ${old} answers /status once resumed`).to.not.equal(null);
      for (const id of others) c.nodes.get(id)!.child.kill('SIGCONT');
      const answer = await read.answer;
      probes.push({
        old,
        oldTerm: current.term,
        newLeader: next.leader,
        newTerm: next.term,
        resumedTerm: resumed!.term,
        resumedRole: resumed!.role,
        read: answer,
      });
      if (answer?.status === 200) {
        const got = (JSON.parse(answer.body) as { value: unknown }).value;
        if (JSON.stringify(got) !== JSON.stringify(value)) {
          stale.push(
            `repetition ${rep}: node ${old} (term ${current.term}, ${resumed!.role} in term ${resumed!.term} when resumed) read ${JSON.stringify(got)} after node ${next.leader} acknowledged ${JSON.stringify(value)} in term ${next.term}`,
          );
        }
      }

      // All three converge on one leader, and every node reads the acknowledged value, before the next round.
      current = await c.agreedLeader(IDS);
      for (const id of IDS) {
        await waitUntil(
          `repetition ${rep}: node ${id} to read ${JSON.stringify(value)}`,
          async () => {
            const got = await http(c.address(id), 'GET', `/kv/${KEY}`);
            return got?.status === 200 && JSON.stringify(got.json['value']) === JSON.stringify(value);
          },
          10_000,
        );
      }
      previous = value;
    }

    const summary = probes
      .map(
        (p, rep) =>
          `${rep}: ${p.old}(t${p.oldTerm}) -> ${p.newLeader}(t${p.newTerm}); resumed as ${p.resumedRole} t${p.resumedTerm}; read ${p.read === null ? 'no answer' : `${p.read.status} ${p.read.body}`}`,
      )
      .join('\n');
    const fresh = probes.filter((p) => p.read?.status === 200).length - stale.length;
    const refused = [...new Set(probes.flatMap((p) => (p.read !== null && p.read.status !== 200 ? [p.read.status] : [])))];
    console.log(
      `      ${probes.length} probes: ${stale.length} stale, ${fresh} read the new value, ${probes.length - fresh - stale.length} refused (status ${refused.join(', ') || '-'})`,
    );
    expect(stale, `stale reads:\n${stale.join('\n')}\nall repetitions:\n${summary}`).to.deep.equal([]);
    expect(probes, 'repetitions run').to.have.lengthOf(REPETITIONS);
    // The probe ran as meant: the old leader took the read before it heard of the newer term.
    const cutOff = probes.filter((p) => p.resumedTerm < p.newTerm).length;
    expect(cutOff, `repetitions in which the old leader was still cut off when it had the read:\n${summary}`).to.be.at.least(REPETITIONS - 2);
    // No read hangs: each is answered, with the new value or an error, within the node's own deadline.
    expect(
      probes.filter((p) => p.read === null),
      `reads with no answer:\n${summary}`,
    ).to.deep.equal([]);
  });
});
