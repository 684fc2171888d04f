import { votersOnly } from '../../src/core/membership.ts';
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftCore } from '../../src/core/raft.ts';
import { seededRng } from '../../src/core/rng.ts';
import { FileStorage } from '../../src/storage/file/file-storage.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { ofType } from '../helpers/core-cluster.ts';

/** Boots a core from storage, as the runtime does. */
async function boot(storage: Storage): Promise<RaftCore> {
  const { hardState, entries } = await storage.load();
  return new RaftCore({ id: '1', configuration: votersOnly(['1', '2', '3']), electionTicks: 10, heartbeatTicks: 2, rng: seededRng(1), hardState, entries });
}

/** Runs one ready batch the way the runtime must: persist first, then hand back the messages. */
async function persistReady(core: RaftCore, storage: Storage) {
  const rd = core.ready();
  if (rd.hardState) await storage.saveHardState(rd.hardState);
  if (rd.entries.length > 0) await storage.append(rd.entries);
  core.advance(rd);
  return rd.messages;
}

describe('file storage: a vote survives a restart (§5.2, Figure 2 "persistent state")', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'graft-vote-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a node restarted right after voting refuses a second candidate in that term', async () => {
    const storage = () => new FileStorage({ dir, identity: { machineId: '1', members: ['1', '2', '3'] } });
    let first = storage();
    await first.load();
    await first.saveHardState({ term: 4, vote: null, commit: 0 }); // a member that has run before
    await first.close();
    const core = await boot((first = storage()));
    core.step({ type: 'RequestVote', from: '2', to: '1', term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const [grant] = ofType(await persistReady(core, first), 'RequestVoteResponse');
    expect(grant).to.include({ granted: true, term: 5 });
    await first.close(); // the process dies here; the vote was synced before the grant could be sent

    const second = storage();
    const restarted = await boot(second);
    expect(restarted.hardState()).to.include({ term: 5, vote: '2' });
    restarted.step({ type: 'RequestVote', from: '3', to: '1', term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const [refusal] = ofType(await persistReady(restarted, second), 'RequestVoteResponse');
    expect(refusal).to.include({ granted: false, term: 5 });
    // The first candidate may ask again (its grant could have been lost) and gets the same answer.
    restarted.step({ type: 'RequestVote', from: '2', to: '1', term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    const [again] = ofType(await persistReady(restarted, second), 'RequestVoteResponse');
    expect(again).to.include({ granted: true });
    await second.close();
  });
});
