import type { Entry, HardState } from '../../src/core/types.ts';
import type { PersistedState, Storage } from '../../src/storage/storage.ts';
import { SafetyViolation } from './safety.ts';

/**
 * Wraps a node's storage and remembers what it acknowledged as durable: each entry whose append
 * resolved (until the node itself replaces it), and the term and vote of each durable hard state.
 * At the next load (a restart on the same disk) everything acknowledged must be there. This is the
 * storage contract Raft rests on (§5.1, Figure 2: "updated on stable storage before responding"),
 * checked directly, so a storage that acknowledges what it did not write is caught at the restart.
 */
export class DurabilityWatch {
  /** index -> term of every entry acknowledged and not since replaced. */
  private readonly entries = new Map<number, number>();
  private hardState: HardState | null = null;

  constructor(
    private readonly id: string,
    private readonly report: (violation: SafetyViolation) => void,
  ) {}

  /** The data directory is lost: nothing it acknowledged can be expected any more. */
  forget(): void {
    this.entries.clear();
    this.hardState = null;
  }

  /** Whether, by what it acknowledged, the node holds back from elections (nothing durable yet, or the rejoin mark). */
  holdsBack(): boolean {
    return this.hardState === null || this.hardState.rejoining === true;
  }

  /** The highest index whose entry was acknowledged. */
  lastIndex(): number {
    let last = 0;
    for (const index of this.entries.keys()) last = Math.max(last, index);
    return last;
  }

  wrap(storage: Storage): Storage {
    return {
      load: async () => this.check(await storage.load()),
      append: async (entries: readonly Entry[]) => {
        const first = entries[0];
        // The node replaces its suffix from here on: what it held there is no longer promised.
        if (first !== undefined) for (const index of [...this.entries.keys()]) if (index >= first.index) this.entries.delete(index);
        await storage.append(entries);
        for (const e of entries) this.entries.set(e.index, e.term);
      },
      saveHardState: async (hardState, options) => {
        await storage.saveHardState(hardState, options);
        if (options?.durable !== false) this.hardState = hardState;
      },
      compactPrefix: (index) => storage.compactPrefix(index),
      saveSnapshot: (meta, data) => storage.saveSnapshot(meta, data),
      latestSnapshot: () => storage.latestSnapshot(),
      restartLogAfter: async (snapshot) => {
        await storage.restartLogAfter(snapshot);
        // The leader's snapshot replaced the log: nothing held after it is promised any more.
        this.entries.clear();
      },
      close: () => storage.close(),
    };
  }

  private check(state: PersistedState): PersistedState {
    const held = new Map(state.entries.map((e) => [e.index, e.term]));
    const snapshot = state.snapshot;
    // A snapshot holds what it covers. What follows it must be there only if the acknowledged log agreed
    // with it: otherwise the leader's snapshot replaced a log that had diverged, whose tail was never committed.
    const agreed = snapshot === null || this.entries.get(snapshot.index) === snapshot.term;
    for (const [index, term] of this.entries) {
      if (snapshot !== null && (index <= snapshot.index || !agreed)) continue;
      if (held.get(index) !== term) {
        this.report(
          new SafetyViolation(
            'durability',
            `node ${this.id} acknowledged entry ${index} of term ${term} as durable, but after its restart its log holds ${held.has(index) ? `term ${held.get(index)}` : 'nothing'} there (it ends at ${state.entries.length})`,
          ),
        );
        break;
      }
    }
    const hs = this.hardState;
    if (hs !== null && (state.hardState.term < hs.term || (state.hardState.term === hs.term && hs.vote !== null && state.hardState.vote !== hs.vote))) {
      this.report(
        new SafetyViolation(
          'durability',
          `node ${this.id} acknowledged term ${hs.term} and vote ${String(hs.vote)} as durable, but restarted with term ${state.hardState.term} and vote ${String(state.hardState.vote)}`,
        ),
      );
    }
    return state;
  }
}
