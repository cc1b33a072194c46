// Command-line flags with environment fallbacks, parsed once at start-up into a typed
// object. Flags win over the environment; a blank environment variable counts as unset;
// every bad value is reported with the flag and the variable that set it.

import { ErrorCode, SteererError } from './model/errors.js';
import { tryParseDuration } from './model/duration.js';

type FlagType = 'string' | 'duration' | 'int' | 'bool' | 'url';

interface FlagBase<T extends FlagType> {
  type: T;
  env?: string;
  help: string;
}
type FlagSpec =
  | (FlagBase<'string'> & { default?: string; choices?: readonly string[] })
  | (FlagBase<'url'> & { default?: string })
  | (FlagBase<'duration'> & { default?: string; minMs?: number })
  | (FlagBase<'int'> & { default?: number; min?: number; max?: number })
  | (FlagBase<'bool'> & { default?: boolean });

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['type'] extends 'int' | 'duration'
  ? number
  : S['type'] extends 'bool'
    ? boolean
    : string;
export type ParsedFlags<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends { default: unknown } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

function invalid(message: string): SteererError {
  return new SteererError(ErrorCode.Invalid, message);
}

function convertUrl(name: string, raw: string, where: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(
      `--${name}: ${where} is not a URL (example: http://prometheus.istio-system:9090)`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw invalid(`--${name}: ${where} must be an http(s) URL`);
  return raw;
}

function convertDuration(
  name: string,
  minMs: number | undefined,
  raw: string,
  where: string,
): number {
  const ms = tryParseDuration(raw);
  if (ms === undefined)
    throw invalid(`--${name}: ${where} is not a duration (examples: 10s, 1m, 500ms)`);
  if (minMs !== undefined && ms < minMs)
    throw invalid(`--${name}: ${where} is below the minimum of ${minMs}ms`);
  return ms;
}

function convertInt(
  name: string,
  bounds: { min?: number; max?: number },
  raw: string,
  where: string,
): number {
  if (!/^-?\d+$/.test(raw)) throw invalid(`--${name}: ${where} is not a whole number`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw invalid(`--${name}: ${where} is too large`);
  const { min, max } = bounds;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    throw invalid(`--${name}: ${where} must be between ${min ?? '-∞'} and ${max ?? '∞'}`);
  }
  return n;
}

function convertBool(name: string, raw: string, where: string): boolean {
  if (['true', '1', 'yes', ''].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw invalid(`--${name}: ${where} is not true or false`);
}

/**
 * Converts one raw value. `where` names its origin for messages: `flag value "x"`,
 * `ENV_VAR="x"` or `default "x"`.
 */
function convert(
  name: string,
  spec: FlagSpec,
  raw: string,
  where: string,
): string | number | boolean {
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        throw invalid(`--${name}: ${where} must be one of ${spec.choices.join(', ')}`);
      }
      return raw;
    case 'url':
      return convertUrl(name, raw, where);
    case 'duration':
      return convertDuration(name, spec.minMs, raw, where);
    case 'int':
      return convertInt(name, spec, raw, where);
    case 'bool':
      return convertBool(name, raw, where);
  }
}

export function parseFlags<S extends FlagSpecs>(
  specs: S,
  argv: readonly string[],
  env: Record<string, string | undefined>,
): ParsedFlags<S> {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--'))
      throw invalid(`unexpected argument "${arg}" (flags look like --name=value)`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec)
      throw invalid(
        `unknown flag --${name}; known flags: ${Object.keys(specs)
          .map((k) => `--${k}`)
          .join(', ')}`,
      );
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (spec.type === 'bool') value = 'true';
    else {
      const next = argv[i + 1];
      // `--a --b` is a forgotten value, not the value "--b".
      if (next === undefined || next.startsWith('--')) throw invalid(`--${name} needs a value`);
      value = next;
      i++;
    }
    given.set(name, value);
  }
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const flag = given.get(name);
    const envRaw = spec.env ? env[spec.env]?.trim() : undefined;
    if (flag !== undefined) {
      out[name] = convert(name, spec, flag, `flag value ${JSON.stringify(flag)}`);
    } else if (envRaw) {
      out[name] = convert(name, spec, envRaw, `${spec.env}=${JSON.stringify(envRaw)}`);
    } else if (spec.default !== undefined) {
      out[name] =
        spec.type === 'duration'
          ? convert(name, spec, spec.default, `default ${JSON.stringify(spec.default)}`)
          : spec.default;
    } else out[name] = undefined;
  }
  return out as ParsedFlags<S>;
}

export function flagsHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const def =
        s.default === undefined || s.default === '' ? '' : ` (default ${String(s.default)})`;
      const env = s.env ? ` [$${s.env}]` : '';
      return `  --${name}${env}\n      ${s.help}${def}`;
    })
    .join('\n');
}

/** ":8080", "127.0.0.1:8080" or "[::1]:8080" → host and port; `flag` names it in errors. */
export function parseListenAddress(
  flag: string,
  addr: string,
): { host: string | undefined; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i).replace(/^\[(.*)\]$/, '$1') : undefined;
  const raw = addr.slice(i + 1);
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (i < 0 || !Number.isInteger(port) || port > 65535) {
    throw invalid(`--${flag}: "${addr}" is not host:port (examples: :8080, 127.0.0.1:8080)`);
  }
  return { host, port };
}
