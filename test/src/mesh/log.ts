// One structured logger for the simulator: a JSON object per line on stdout.
// Modules receive a Logger so tests can pass `silentLogger` or a recording one.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function normalise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { message: value.message, name: value.name };
    const extra = value as Error & { code?: unknown; statusCode?: unknown };
    if (extra.code !== undefined) out['code'] = extra.code;
    if (extra.statusCode !== undefined) out['statusCode'] = extra.statusCode;
    return out;
  }
  return value;
}

export function createLogger(options: {
  level: LogLevel;
  write?: (line: string) => void;
  base?: LogFields;
}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (LOG_LEVELS.indexOf(level) < threshold) return;
      const entry: Record<string, unknown> = { ts: new Date().toISOString(), level, msg };
      for (const [k, v] of Object.entries(base)) entry[k] = normalise(v);
      if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = normalise(v);
      write(JSON.stringify(entry));
    };
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make(options.base ?? {});
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** Keeps entries in memory, for tests. Children share the parent's entry list. */
export class MemoryLogger implements Logger {
  constructor(
    readonly entries: { level: LogLevel; msg: string; fields: LogFields }[] = [],
    private readonly base: LogFields = {},
  ) {}
  private add(level: LogLevel, msg: string, fields?: LogFields): void {
    this.entries.push({ level, msg, fields: { ...this.base, ...fields } });
  }
  debug(msg: string, fields?: LogFields): void {
    this.add('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.add('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.add('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.add('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new MemoryLogger(this.entries, { ...this.base, ...fields });
  }
  messages(level?: LogLevel): string[] {
    return this.entries.filter((e) => level === undefined || e.level === level).map((e) => e.msg);
  }
}
