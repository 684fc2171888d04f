import { pino } from 'pino';
import { prettyLogLine } from './pretty-log.ts';

/** How much a logger prints: each level includes the ones after it. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** How `createLogger` writes a line: one JSON object (pino's), or text for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/**
 * One level's method, in pino's argument order: `(context, message)`, or `(message)` alone. The
 * context's fields go into the line beside the message (`{ peer: '2', term: 7 }`).
 */
export interface LogFn {
  (context: object, message: string): void;
  (message: string): void;
}

/**
 * What Graft logs to: a subset of pino's `Logger`, so a `pino()` instance (or any logger with the same
 * methods, such as a child of one) can be passed as it is.
 */
export interface Logger {
  /** Detail for debugging: messages, timers, retries. */
  debug: LogFn;
  /** What an operator wants to know happened: elections, membership changes, snapshots, peers back. */
  info: LogFn;
  /** Something wrong that the node survives: a lost peer, a refused connection, a dropped message. */
  warn: LogFn;
  /** Something the node cannot survive, or a caller will see fail. */
  error: LogFn;
  /** A logger that adds `bindings` to every line, e.g. `child({ component: 'transport' })`. */
  child(bindings: Record<string, unknown>): Logger;
}

/** Options of `createLogger`. */
export interface LoggerOptions {
  /** Fields on every line, e.g. `{ node: '1' }`. */
  readonly bindings?: Record<string, unknown>;
  /** The least level printed. Default: GRAFT_LOG_LEVEL, else `defaultLevel`. */
  readonly level?: LogLevel;
  /** The level when neither `level` nor GRAFT_LOG_LEVEL gives one. Default `warn`: quiet, as a library should be. */
  readonly defaultLevel?: LogLevel;
  /**
   * JSON lines or text. Default: GRAFT_LOG_FORMAT, else text when the lines go to a terminal (standard
   * error is one, and `write` is not given) and JSON otherwise.
   */
  readonly format?: LogFormat;
  /** Where each line goes, without its newline. Default: standard error. */
  readonly write?: (line: string) => void;
}

/**
 * A pino logger, set up the way the environment asks (GRAFT_LOG_LEVEL, GRAFT_LOG_FORMAT). In JSON,
 * a line is `{"level":"info","time":"2026-11-24T12:00:00.000Z","pid":1,"hostname":"h","node":"1","msg":"..."}`
 * plus the bindings and the call's context; in text, `2026-11-24T12:00:00.000Z INFO [node 1] message key=value`.
 * A bad value of either variable is said in one warning line, and the default used instead.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line + '\n'));
  const problems: string[] = [];
  const level = options.level ?? fromEnvironment('GRAFT_LOG_LEVEL', LEVELS, options.defaultLevel ?? 'warn', problems);
  const toTerminal = options.write === undefined && process.stderr.isTTY === true;
  const format = options.format ?? fromEnvironment('GRAFT_LOG_FORMAT', FORMATS, toTerminal ? 'pretty' : 'json', problems);
  const destination = {
    write:
      format === 'pretty'
        ? (json: string) => write(prettyLogLine(JSON.parse(json) as Record<string, unknown>))
        : (json: string) => write(json.endsWith('\n') ? json.slice(0, -1) : json),
  };
  const root = pino(
    {
      level,
      // Level names and ISO times: a JSON line reads without a lookup table, and sorts as text.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  const logger = options.bindings === undefined ? root : root.child(options.bindings);
  for (const problem of problems) logger.warn(problem);
  return logger;
}

/** A logger that prints nothing. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/** The value of environment variable `name` if it is one of `allowed` (in any case), else `fallback`; a bad value is added to `problems`. */
function fromEnvironment<T extends string>(name: string, allowed: readonly T[], fallback: T, problems: string[]): T {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const lower = value.toLowerCase();
  if ((allowed as readonly string[]).includes(lower)) return lower as T;
  problems.push(`${name}="${value}" is not one of ${allowed.join(', ')}; using ${fallback}`);
  return fallback;
}
