import { expect } from 'chai';
import { ProcessCluster, runCli } from '../helpers/processes.ts';
import { http, knownLeader } from '../helpers/wal-audit.ts';

describe('process: graft stop shuts a node down cleanly, and a planned restart of the leader costs no election', function () {
  this.timeout(120_000);
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await ProcessCluster.create(3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('refuses a machine that is not a member, naming the members', async () => {
    const run = await runCli(['stop', '7', '--cluster', cluster.address('1')]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain('machine id "7" is not a member (members: 1, 2, 3)');
  });

  it('the leader hands over, exits 0, and comes back to a cluster that kept its writes', async () => {
    const leader = await knownLeader(cluster);
    const other = ['1', '2', '3'].find((id) => id !== leader)!;

    const run = await runCli(['stop', leader, '--cluster', cluster.address(other)]);
    expect(run.stderr).to.equal('');
    expect(run.stdout.trim()).to.equal(`node ${leader} stopped`);
    expect(await cluster.nodes.get(leader)!.exited).to.equal(0);
    const handedTo = /handed leadership to (\S+) before stopping/.exec(cluster.nodes.get(leader)!.lines.join('\n'))?.[1];
    expect(handedTo, "the stopped leader's log").to.be.a('string');
    expect(handedTo).to.not.equal(leader);

    expect((await http(cluster.address(other), 'PUT', '/kv/during-restart', 1))?.status).to.equal(200);
    const back = cluster.start(leader);
    await back.waitForLine(/listening on/);
    const read = await http(cluster.address(leader), 'GET', '/kv/during-restart');
    expect(read?.json).to.deep.equal({ value: 1 });
  });
});
