import { decodeConfiguration } from './configuration-format.ts';
import type { RaftLog } from './log.ts';
import type { Configuration } from './membership.ts';
import type { Entry } from './types.ts';

/** A configuration and the entry that carries it (index 0: the bootstrap's or a snapshot's). */
export interface ConfigurationRecord {
  readonly index: number;
  readonly term: number;
  readonly configuration: Configuration;
}

/**
 * The configurations the log holds, so that the one in force is always the latest in the log,
 * committed or not (thesis §4.1), and falls back to the one before when a leader's log cuts the
 * entry away. Below them lies the base: the configuration of the snapshot the log starts after, or
 * the bootstrap configuration for a log that holds none.
 */
export class ConfigurationLog {
  private base: ConfigurationRecord;
  /** Configuration entries after the base, ascending by index. Few: one or two per change. */
  private records: ConfigurationRecord[] = [];

  constructor(base: Configuration, baseIndex = 0) {
    this.base = { index: baseIndex, term: 0, configuration: base };
  }

  /** The configuration in force: the latest in the log. */
  current(): ConfigurationRecord {
    return this.records[this.records.length - 1] ?? this.base;
  }

  /** The configuration in force at `index`: the latest at or before it. */
  at(index: number): Configuration {
    return this.recordAt(index).configuration;
  }

  /** The record of the configuration in force at `index`. */
  recordAt(index: number): ConfigurationRecord {
    for (let i = this.records.length - 1; i >= 0; i--) if (this.records[i]!.index <= index) return this.records[i]!;
    return this.base;
  }

  /**
   * Brings the records in line with the log after it changed: drops those whose entry the log no
   * longer holds (a truncation), then adds the configuration entries among `appended` that it holds.
   * Returns whether the configuration in force changed.
   */
  sync(log: RaftLog, appended: readonly Entry[]): boolean {
    const before = this.current();
    while (this.records.length > 0) {
      const last = this.records[this.records.length - 1]!;
      if (log.term(last.index) === last.term) break;
      this.records.pop();
    }
    for (const entry of appended) {
      if (entry.kind !== 'config' || entry.index <= this.current().index || log.term(entry.index) !== entry.term) continue;
      this.records.push({ index: entry.index, term: entry.term, configuration: decodeConfiguration(entry.data, `configuration entry ${entry.index}`) });
    }
    return this.current() !== before;
  }

  /** A snapshot up to `index` was taken: what it covers is in its metadata, the base from now on. */
  compacted(index: number): void {
    const configuration = this.at(index);
    this.records = this.records.filter((r) => r.index > index);
    this.base = { index, term: 0, configuration };
  }

  /** The log was replaced by a snapshot up to `index` holding `configuration`. */
  restored(index: number, configuration: Configuration): void {
    this.records = [];
    this.base = { index, term: 0, configuration };
  }
}
