// The command line: `kubectl steerer COMMAND [NAME] [flags]`, parsed with node's
// util.parseArgs. Flags may come before or after the command, as with kubectl; each
// command accepts only its own, and anything else is a UsageError naming it.

import { parseArgs } from 'node:util';
import { tryParseDuration } from '@steerer/common';
import type { Request } from '@steerer/common';
import { UsageError } from './errors.js';
import type { ConnectOptions } from './kubeconfig.js';

export const REQUEST_COMMANDS = ['promote', 'abort', 'retry', 'pause', 'resume'] as const;
export type RequestCommand = (typeof REQUEST_COMMANDS)[number];

export const COMMANDS = [
  'get',
  'status',
  'watch',
  ...REQUEST_COMMANDS,
  'dashboard',
  'version',
  'help',
] as const;
export type Command = (typeof COMMANDS)[number];

export const DEFAULT_WAIT_MS = 30_000;
export const DEFAULT_DASHBOARD_PORT = 3100;

export interface Invocation {
  command: Command;
  /** `help`: the command to explain (undefined: all of them). */
  topic?: Command | undefined;
  /** The Rollout's name (required by status, watch and the requests; optional for get). */
  name?: string | undefined;
  connect: ConnectOptions;
  allNamespaces: boolean;
  /** The manual request a request command writes (promote --force → promote-force). */
  request?: Request | undefined;
  /** How long a request command waits for the controller; 0: not at all. */
  waitMs: number;
  /** dashboard: the loopback port (0: any free one). */
  port?: number | undefined;
  /** dashboard: the Prometheus its timeline asks. */
  metricsServer?: string | undefined;
}

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  wait: { type: 'string' },
  force: { type: 'boolean' },
  port: { type: 'string' },
  'metrics-server': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;
type Flag = keyof typeof OPTIONS;

const CONNECTION_FLAGS: readonly Flag[] = ['kubeconfig', 'context', 'namespace', 'help'];
const COMMAND_FLAGS: Record<Command, readonly Flag[]> = {
  get: [...CONNECTION_FLAGS, 'all-namespaces'],
  status: CONNECTION_FLAGS,
  watch: CONNECTION_FLAGS,
  promote: [...CONNECTION_FLAGS, 'wait', 'force'],
  abort: [...CONNECTION_FLAGS, 'wait'],
  retry: [...CONNECTION_FLAGS, 'wait'],
  pause: [...CONNECTION_FLAGS, 'wait'],
  resume: [...CONNECTION_FLAGS, 'wait'],
  dashboard: [...CONNECTION_FLAGS, 'port', 'metrics-server'],
  version: ['help'],
  help: ['help'],
};

export function isCommand(word: string | undefined): word is Command {
  return COMMANDS.some((c) => c === word);
}

function isRequestCommand(command: Command): command is RequestCommand {
  return REQUEST_COMMANDS.some((c) => c === command);
}

/** --port: 0 (any free port) to 65535. */
export function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(
      `--port=${text} is not a port (0 to 65535; 0: any free port)`,
      'dashboard',
    );
  }
  return port;
}

/** --metrics-server: an http(s) URL. */
export function parseUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(
      `--metrics-server=${text} is not an http(s) URL (example: --metrics-server=http://127.0.0.1:9090)`,
      'dashboard',
    );
  }
  return text.trim().replace(/\/+$/, '');
}

/** "30s", "1m", "0": how long to wait for the controller. */
export function parseWait(text: string, command?: Command): number {
  if (/^0+$/.test(text.trim())) return 0;
  const ms = tryParseDuration(text.trim());
  if (ms === undefined) {
    throw new UsageError(
      `--wait=${text} is not a duration (examples: --wait=30s, --wait=2m, --wait=0 not to wait)`,
      command,
    );
  }
  return ms;
}

type Parsed = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; tokens: true }>
>;

function parse(argv: readonly string[], command: Command | undefined): Parsed {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, tokens: true });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const flag = /'(-[^',\s]*)/.exec(message)?.[1] ?? '';
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`flag ${flag || message} needs a value`, command);
    }
    const suffix = command === undefined ? '' : ` for "${command}"`;
    throw new UsageError(`unknown flag ${flag || message}${suffix}`, command);
  }
}

/** Refuses flags the command does not take, by the name the user typed. */
function checkFlags(parsed: Parsed, command: Command): void {
  const allowed = COMMAND_FLAGS[command];
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    if (!allowed.includes(token.name)) {
      throw new UsageError(`unknown flag ${token.rawName} for "${command}"`, command);
    }
    if (token.value !== undefined && token.value.trim() === '') {
      throw new UsageError(`flag ${token.rawName} needs a value`, command);
    }
  }
}

function nameOf(command: Command, rest: readonly string[]): string | undefined {
  const takesName = command !== 'version' && command !== 'dashboard';
  const needsName = command !== 'get' && command !== 'help' && takesName;
  if (rest.length > (takesName ? 1 : 0)) {
    throw new UsageError(`too many arguments for "${command}": ${rest.join(' ')}`, command);
  }
  if (needsName && rest.length === 0) {
    throw new UsageError(`"${command}" needs the name of a Rollout`, command);
  }
  return rest[0];
}

function helpTopic(word: string | undefined): Command | undefined {
  if (word === undefined) return undefined;
  if (!isCommand(word)) throw new UsageError(`unknown command "${word}"`);
  return word;
}

export function parseCommandLine(argv: readonly string[]): Invocation {
  const first = argv.find((a) => !a.startsWith('-'));
  const parsed = parse(argv, isCommand(first) ? first : undefined);
  const [word, ...rest] = parsed.positionals;
  const { values } = parsed;
  const base = { connect: {}, allNamespaces: false, waitMs: DEFAULT_WAIT_MS };
  if (word === undefined) {
    return { ...base, command: values.version && !values.help ? 'version' : 'help' };
  }
  if (!isCommand(word)) throw new UsageError(`unknown command "${word}"`);
  checkFlags(parsed, word);
  if (word === 'help') return { ...base, command: 'help', topic: helpTopic(nameOf(word, rest)) };
  if (values.help) return { ...base, command: 'help', topic: word };
  const name = nameOf(word, rest);
  const request: Request | undefined = isRequestCommand(word)
    ? word === 'promote' && values.force
      ? 'promote-force'
      : word
    : undefined;
  return {
    command: word,
    name,
    connect: {
      kubeconfig: values.kubeconfig,
      context: values.context,
      namespace: values.namespace,
    },
    allNamespaces: values['all-namespaces'] ?? false,
    request,
    waitMs: values.wait === undefined ? DEFAULT_WAIT_MS : parseWait(values.wait, word),
    port: word === 'dashboard' ? parsePort(values.port, DEFAULT_DASHBOARD_PORT) : undefined,
    metricsServer: parseUrl(values['metrics-server']),
  };
}
