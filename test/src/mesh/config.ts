// All configuration, parsed once: flags override environment variables. A bad flag is an
// error (the caller asked for it explicitly); a bad environment value is a warning and the
// default applies; blank environment values count as unset.

import { delimiter } from 'node:path';
import { MAX_RPS, type LoadSpec } from './load.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { objectKey } from './model.js';

export interface MeshConfig {
  /** --kubeconfig, else a single-file KUBECONFIG; undefined: client-node's default lookup. */
  readonly kubeconfig: string | undefined;
  readonly host: string;
  readonly gatewayPort: number;
  readonly metricsPort: number;
  readonly namespace: string | undefined;
  /** Only objects matching this label selector are read (Istio's discovery scope, in effect). */
  readonly labelSelector: string | undefined;
  readonly load: ReadonlyMap<string, LoadSpec>;
  readonly stateFile: string | undefined;
  readonly sourceReporter: boolean;
  readonly logLevel: LogLevel;
}

export type ConfigResult =
  | { kind: 'ok'; config: MeshConfig; warnings: string[] }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

export const USAGE = `Usage: node test/dist/mesh/main.js [flags]

  --kubeconfig PATH        kubeconfig (env KUBECONFIG; default: client-node's lookup)
  --host ADDR              listen address (env MESH_HOST; default 127.0.0.1)
  --gateway-port N         gateway port, 0 picks one (env MESH_GATEWAY_PORT; default 0)
  --metrics-port N         metrics/admin port, 0 picks one (env MESH_METRICS_PORT; default 0)
  --namespace NS           only read objects in NS (env MESH_NAMESPACE; default all)
  --label-selector SEL     only read objects matching SEL, e.g. '!example.com/no-mesh'
                           (env MESH_LABEL_SELECTOR; default all)
  --load NS/VS=RPS[@PATH]  background load, repeatable or comma-separated (env MESH_LOAD)
  --state-file PATH        write {"gatewayUrl","metricsUrl","pid"} once listening (env MESH_STATE_FILE)
  --[no-]source-reporter   also export reporter="source" from the gateway (env MESH_SOURCE_REPORTER; default on)
  --log-level LEVEL        debug|info|warn|error (env MESH_LOG_LEVEL; default info)
  --help                   this text
`;

type Check<T> = { ok: true; value: T } | { ok: false; error: string };

function checkPort(raw: string): Check<number> {
  const n = Number(raw);
  return /^\d+$/.test(raw.trim()) && n >= 0 && n <= 65535
    ? { ok: true, value: n }
    : { ok: false, error: `not a port: ${JSON.stringify(raw)}` };
}

function checkBool(raw: string): Check<boolean> {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return { ok: true, value: true };
  if (['0', 'false', 'no', 'off'].includes(v)) return { ok: true, value: false };
  return { ok: false, error: `not a boolean: ${JSON.stringify(raw)}` };
}

function checkLevel(raw: string): Check<LogLevel> {
  const level = LOG_LEVELS.find((l) => l === raw.trim().toLowerCase());
  return level ? { ok: true, value: level } : { ok: false, error: `not a log level: ${raw}` };
}

/** `ns/vs=200`, `ns/vs=50@/status/200`; several separated by commas. */
export function parseLoadSpecs(raw: string): Check<Map<string, LoadSpec>> {
  const out = new Map<string, LoadSpec>();
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const m = /^([^/=\s]+)\/([^/=\s]+)=(\d+(?:\.\d+)?)(?:@(\/\S*))?$/.exec(part);
    const [, ns, name, rps, path] = m ?? [];
    if (ns === undefined || name === undefined || rps === undefined) {
      return {
        ok: false,
        error: `bad load spec ${JSON.stringify(part)}; expected NS/VS=RPS[@/path]`,
      };
    }
    const value = Number(rps);
    if (value > MAX_RPS) return { ok: false, error: `load ${part}: rps above ${MAX_RPS}` };
    out.set(objectKey(ns, name), { rps: value, path: path ?? '/' });
  }
  return { ok: true, value: out };
}

const VALUE_FLAGS = [
  'kubeconfig',
  'host',
  'gateway-port',
  'metrics-port',
  'namespace',
  'label-selector',
  'load',
  'state-file',
  'log-level',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];

function isValueFlag(name: string): name is ValueFlag {
  return (VALUE_FLAGS as readonly string[]).includes(name);
}

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ConfigResult {
  const flags = new Map<ValueFlag, string[]>();
  let sourceReporterFlag: boolean | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--source-reporter' || arg === '--no-source-reporter') {
      sourceReporterFlag = arg === '--source-reporter';
      continue;
    }
    if (!arg.startsWith('--')) return { kind: 'error', message: `unexpected argument ${arg}` };
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!isValueFlag(name)) return { kind: 'error', message: `unknown flag --${name}` };
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined) return { kind: 'error', message: `--${name} needs a value` };
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }

  const warnings: string[] = [];
  const envValue = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  /** Flag (error if invalid) else env (warning if invalid) else fallback. */
  function pick<T>(
    flag: ValueFlag,
    envName: string,
    check: (raw: string) => Check<T>,
    fallback: T,
  ): Check<T> {
    const fromFlag = flags.get(flag)?.at(-1);
    if (fromFlag !== undefined) {
      const c = check(fromFlag);
      return c.ok ? c : { ok: false, error: `--${flag}: ${c.error}` };
    }
    const fromEnv = envValue(envName);
    if (fromEnv !== undefined) {
      const c = check(fromEnv);
      if (c.ok) return c;
      warnings.push(`${envName}: ${c.error}; using default`);
    }
    return { ok: true, value: fallback };
  }
  const text = (raw: string): Check<string> => ({ ok: true, value: raw });

  const host = pick('host', 'MESH_HOST', text, '127.0.0.1');
  const gatewayPort = pick('gateway-port', 'MESH_GATEWAY_PORT', checkPort, 0);
  const metricsPort = pick('metrics-port', 'MESH_METRICS_PORT', checkPort, 0);
  const logLevel = pick<LogLevel>('log-level', 'MESH_LOG_LEVEL', checkLevel, 'info');
  if (!host.ok) return { kind: 'error', message: host.error };
  if (!gatewayPort.ok) return { kind: 'error', message: gatewayPort.error };
  if (!metricsPort.ok) return { kind: 'error', message: metricsPort.error };
  if (!logLevel.ok) return { kind: 'error', message: logLevel.error };

  const load = new Map<string, LoadSpec>();
  const loadFlags = flags.get('load');
  if (loadFlags) {
    for (const raw of loadFlags) {
      const c = parseLoadSpecs(raw);
      if (!c.ok) return { kind: 'error', message: `--load: ${c.error}` };
      for (const [k, v] of c.value) load.set(k, v);
    }
  } else {
    const raw = envValue('MESH_LOAD');
    if (raw !== undefined) {
      const c = parseLoadSpecs(raw);
      if (c.ok) for (const [k, v] of c.value) load.set(k, v);
      else warnings.push(`MESH_LOAD: ${c.error}; no background load`);
    }
  }

  let sourceReporter = sourceReporterFlag;
  if (sourceReporter === undefined) {
    const raw = envValue('MESH_SOURCE_REPORTER');
    const c = raw === undefined ? undefined : checkBool(raw);
    if (c && !c.ok) warnings.push(`MESH_SOURCE_REPORTER: ${c.error}; using default`);
    sourceReporter = c?.ok ? c.value : true;
  }

  const last = (flag: ValueFlag, envName: string): string | undefined =>
    flags.get(flag)?.at(-1) ?? envValue(envName);

  // KUBECONFIG may list several files; client-node's loadFromDefault merges those itself.
  const envKubeconfig = envValue('KUBECONFIG');
  const kubeconfig =
    flags.get('kubeconfig')?.at(-1) ??
    (envKubeconfig !== undefined && !envKubeconfig.includes(delimiter) ? envKubeconfig : undefined);
  return {
    kind: 'ok',
    warnings,
    config: {
      kubeconfig,
      host: host.value,
      gatewayPort: gatewayPort.value,
      metricsPort: metricsPort.value,
      namespace: last('namespace', 'MESH_NAMESPACE'),
      labelSelector: last('label-selector', 'MESH_LABEL_SELECTOR'),
      load,
      stateFile: last('state-file', 'MESH_STATE_FILE'),
      sourceReporter,
      logLevel: logLevel.value,
    },
  };
}
