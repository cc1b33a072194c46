// One structured logger for every Steerer process: JSON lines on stdout via winston.

import winston from 'winston';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

/** The logging surface the rest of the code depends on (tests pass a fake). */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

class WinstonLogger implements Logger {
  constructor(private readonly w: winston.Logger) {}
  error(message: string, fields?: LogFields): void {
    this.w.error(message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.w.warn(message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.w.info(message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.w.debug(message, fields);
  }
  child(fields: LogFields): Logger {
    return new WinstonLogger(this.w.child(fields));
  }
}

export function createLogger(options: { level: LogLevel; component: string }): Logger {
  const w = winston.createLogger({
    level: options.level,
    defaultMeta: { component: options.component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console()],
  });
  return new WinstonLogger(w);
}

/** A logger that records entries in memory, for tests. */
export class MemoryLogger implements Logger {
  readonly entries: { level: LogLevel; message: string; fields: LogFields }[] = [];
  constructor(private readonly base: LogFields = {}) {}
  private add(level: LogLevel, message: string, fields?: LogFields): void {
    this.entries.push({ level, message, fields: { ...this.base, ...fields } });
  }
  error(message: string, fields?: LogFields): void {
    this.add('error', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.add('warn', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.add('info', message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.add('debug', message, fields);
  }
  child(fields: LogFields): Logger {
    const child = new MemoryLogger({ ...this.base, ...fields });
    // Children share one entry list so tests see everything in order.
    (child as { entries: MemoryLogger['entries'] }).entries = this.entries;
    return child;
  }
}

export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLogger,
};
