import type { Logger } from '../../src/logger.ts';

/** A logger that keeps what it is told at info and warn (with the context as JSON), for tests to look at. */
export interface RecordingLogger extends Logger {
  readonly infos: string[];
  readonly warnings: string[];
}

export function recordingLogger(): RecordingLogger {
  const infos: string[] = [];
  const warnings: string[] = [];
  const logger: RecordingLogger = {
    infos,
    warnings,
    debug: () => {},
    info: (message) => infos.push(message),
    warn: (message, context) => warnings.push(`${message} ${JSON.stringify(context ?? {})}`),
    error: () => {},
    child: () => logger,
  };
  return logger;
}
