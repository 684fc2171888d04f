/** Stable, machine-readable error codes; match on `code`, never on the message text. */
export type GraftErrorCode =
  | 'NOT_LEADER'
  | 'NO_LEADER'
  | 'UNREACHABLE'
  | 'TIMEOUT_OUTCOME_UNKNOWN'
  | 'SHUTDOWN'
  | 'NOT_STARTED'
  | 'CONFIG_INVALID'
  | 'STORAGE_CORRUPT'
  /** A write or fsync of durable storage failed (a full disk, an I/O error); the storage takes no more writes. */
  | 'STORAGE_FAILED'
  | 'STORAGE_INVALID'
  | 'OVERLOADED'
  | 'APPLY_FAILED'
  /** A snapshot was asked for, or must be restored, but the application gave no snapshot and restore hooks. */
  | 'SNAPSHOT_UNSUPPORTED'
  | 'SESSION_EXPIRED'
  | 'PROTOCOL'
  | 'TRANSFER_ABORTED'
  /** A membership change is under way (or the core's own step of one): one at a time. */
  | 'CHANGE_IN_PROGRESS'
  /** A member added as a learner did not catch up in time, so it was not promoted to voter. */
  | 'NOT_CAUGHT_UP'
  | 'INVALID_ARGUMENT';

/** Every code once: a code that arrives from a peer (a forwarded request's answer) must be one of these. */
const KNOWN_CODES: Readonly<Record<GraftErrorCode, true>> = {
  NOT_LEADER: true,
  NO_LEADER: true,
  UNREACHABLE: true,
  TIMEOUT_OUTCOME_UNKNOWN: true,
  SHUTDOWN: true,
  NOT_STARTED: true,
  CONFIG_INVALID: true,
  STORAGE_CORRUPT: true,
  STORAGE_FAILED: true,
  STORAGE_INVALID: true,
  OVERLOADED: true,
  APPLY_FAILED: true,
  SNAPSHOT_UNSUPPORTED: true,
  SESSION_EXPIRED: true,
  PROTOCOL: true,
  TRANSFER_ABORTED: true,
  CHANGE_IN_PROGRESS: true,
  NOT_CAUGHT_UP: true,
  INVALID_ARGUMENT: true,
};

/** Whether `value` is one of Graft's error codes. */
export function isGraftErrorCode(value: unknown): value is GraftErrorCode {
  return typeof value === 'string' && Object.hasOwn(KNOWN_CODES, value);
}

/** The base of every error Graft raises, with a stable `code` and the context that explains it. */
export class GraftError extends Error {
  /** What went wrong, as a stable code to match on. */
  readonly code: GraftErrorCode;
  /** The leader this node knows of, when the error is about leadership: retry there. */
  readonly leader: string | null;

  constructor(code: GraftErrorCode, message: string, options: { leader?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GraftError';
    this.code = code;
    this.leader = options.leader ?? null;
  }
}
