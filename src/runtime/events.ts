import { EventEmitter } from 'node:events';
import type { NodeId, Role } from '../core/types.ts';

/** The events a GraftInstance emits, and what each carries. */
export interface GraftEvents {
  /** This node's role changed. */
  role: [role: Role, term: number];
  /** The leader this node knows of changed (null: none known, e.g. during an election). */
  leader: [leader: NodeId | null, term: number];
  /** Entries up to `index` were applied to the state machine. */
  applied: [index: number];
  /** Something went wrong that no caller's promise reports (a throwing applicator, a failed disk). */
  error: [error: Error];
  /**
   * The instance stopped: `error` is null after `stop()`, or the reason it stopped on its own (its
   * storage failed). A process that embeds Graft should exit non-zero on an error, so that its
   * supervisor restarts it.
   */
  stopped: [error: Error | null];
}

/** An EventEmitter whose event names and arguments are checked by the compiler. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly emitter = new EventEmitter();

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  listenerCount<K extends keyof Events & string>(event: K): number {
    return this.emitter.listenerCount(event);
  }

  protected emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    this.emitter.emit(event, ...args);
  }
}
