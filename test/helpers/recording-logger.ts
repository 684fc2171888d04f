import type { Logger, LogLevel } from '../../src/logger.ts';

/** One call to a logger: its level, its message, and its context with the bindings of the child it was made on. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly context: Readonly<Record<string, unknown>>;
}

/** A logger that keeps what it is told, for tests to look at. Its children record into the same lists. */
export interface RecordingLogger extends Logger {
  /** Every call, at every level, in order. */
  readonly records: LogRecord[];
  /** The messages at info. */
  readonly infos: string[];
  /** The calls at warn, each as `message {context as JSON}`. */
  readonly warnings: string[];
}

/** A recording logger; `onRecord`, when given, is told of each record as it comes (to await one). */
export function recordingLogger(onRecord: (record: LogRecord) => void = () => {}): RecordingLogger {
  const records: LogRecord[] = [];
  const infos: string[] = [];
  const warnings: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: LogLevel) =>
      (...args: LogArgs): void => {
        const { message, context } = logArguments(args);
        const record: LogRecord = { level, message, context: { ...bindings, ...context } };
        records.push(record);
        if (level === 'info') infos.push(message);
        if (level === 'warn') warnings.push(`${message} ${JSON.stringify(record.context)}`);
        onRecord(record);
      };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => make({ ...bindings, ...more }) };
  };
  return { records, infos, warnings, ...make({}) };
}

/** The arguments of a log call, in pino's order: `(context, message)` or `(message)`. */
export type LogArgs = [context: object, message: string] | [message: string];

/** The message and context of a log call. */
export function logArguments(args: LogArgs): { message: string; context: Record<string, unknown> } {
  if (args.length === 1) return { message: args[0], context: {} };
  return { message: args[1], context: { ...(args[0] as Record<string, unknown>) } };
}

/** A logger that hands the message of each warning and error to `add`, and drops the rest. */
export function warningLogger(add: (message: string) => void): Logger {
  return recordingLogger(({ level, message }) => {
    if (level === 'warn' || level === 'error') add(message);
  });
}
