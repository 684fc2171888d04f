/** How much a logger prints: each level includes the ones after it. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A leveled logger; `context` is printed as key=value pairs after the message. */
export interface Logger {
  /** Detail for debugging: messages, timers, retries. */
  debug(message: string, context?: Record<string, unknown>): void;
  /** What an operator wants to know happened: elections, restarts. */
  info(message: string, context?: Record<string, unknown>): void;
  /** Something wrong that the node survives: a refused peer, a dropped message. */
  warn(message: string, context?: Record<string, unknown>): void;
  /** Something the node cannot survive, or a caller will see fail. */
  error(message: string, context?: Record<string, unknown>): void;
  /** A logger for a part of this one, named `parent/name`. */
  child(name: string): Logger;
}

/** Options of `createLogger`: by default the level comes from GRAFT_LOG_LEVEL and lines go to stderr. */
export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Where each formatted line goes. Default: standard error. */
  readonly write?: (line: string) => void;
}

/**
 * A logger that writes one line per event:
 * `2026-11-24T12:00:00.000Z WARN [node 1] message key=value key2="with space"`.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const level = options.level ?? levelFromEnvironment(write);
  const threshold = LEVELS.indexOf(level);
  const make = (scope: string): Logger => {
    const log =
      (at: LogLevel) =>
      (message: string, context?: Record<string, unknown>): void => {
        if (LEVELS.indexOf(at) < threshold) return;
        write(`${new Date().toISOString()} ${at.toUpperCase()} [${scope}] ${message}${formatContext(context)}`);
      };
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (n) => make(`${scope}/${n}`) };
  };
  return make(name);
}

/** A logger that prints nothing. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

function levelFromEnvironment(write: (line: string) => void): LogLevel {
  const value = process.env['GRAFT_LOG_LEVEL'];
  if (value === undefined || value === '') return 'info';
  const level = value.toLowerCase();
  if ((LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  write(`${new Date().toISOString()} WARN [graft] GRAFT_LOG_LEVEL="${value}" is not one of ${LEVELS.join(', ')}; using info`);
  return 'info';
}

function formatContext(context: Record<string, unknown> | undefined): string {
  if (context === undefined) return '';
  return Object.entries(context)
    .map(([key, value]) => {
      const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
      return ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
    })
    .join('');
}
