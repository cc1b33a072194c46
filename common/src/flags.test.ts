import { describe, expect, it } from '@jest/globals';
import { SteererError } from './model/errors.js';
import { flagsHelp, parseFlags } from './flags.js';
import type { FlagSpecs } from './flags.js';

const SPECS = {
  url: { type: 'url', env: 'PROM_URL', default: 'http://prometheus:9090', help: 'Prometheus' },
  interval: { type: 'duration', env: 'INTERVAL', default: '10s', minMs: 1000, help: 'Step' },
  timeout: { type: 'duration', env: 'TIMEOUT', help: 'Deadline' },
  level: {
    type: 'string',
    env: 'LOG_LEVEL',
    default: 'info',
    choices: ['debug', 'info', 'warn'],
    help: 'Log level',
  },
  namespace: { type: 'string', env: 'WATCH_NAMESPACE', help: 'Namespace' },
  workers: { type: 'int', env: 'WORKERS', default: 8, min: 1, max: 256, help: 'Workers' },
  offset: { type: 'int', help: 'Any integer' },
  elect: { type: 'bool', env: 'LEADER_ELECT', default: true, help: 'Leader election' },
  dry: { type: 'bool', help: 'Dry run' },
} as const satisfies FlagSpecs;

function parse(argv: string[], env: Record<string, string | undefined> = {}) {
  return parseFlags(SPECS, argv, env);
}

/** The message of the SteererError `fn` throws; fails the test if it throws nothing else. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SteererError);
    expect(e).toMatchObject({ code: 'Invalid' });
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('parseFlags: sources', () => {
  it('uses defaults when nothing is given', () => {
    expect(parse([])).toEqual({
      url: 'http://prometheus:9090',
      interval: 10_000,
      timeout: undefined,
      level: 'info',
      namespace: undefined,
      workers: 8,
      offset: undefined,
      elect: true,
      dry: undefined,
    });
  });

  it('prefers the environment over defaults', () => {
    const f = parse([], {
      INTERVAL: '30s',
      WORKERS: '4',
      LOG_LEVEL: 'debug',
      LEADER_ELECT: 'false',
    });
    expect(f).toMatchObject({ interval: 30_000, workers: 4, level: 'debug', elect: false });
  });

  it('prefers flags over the environment', () => {
    const f = parse(['--interval=1m', '--workers', '2', '--level=warn', '--elect=false'], {
      INTERVAL: '30s',
      WORKERS: '4',
      LOG_LEVEL: 'debug',
      LEADER_ELECT: 'true',
    });
    expect(f).toMatchObject({ interval: 60_000, workers: 2, level: 'warn', elect: false });
  });

  it('counts a blank or whitespace environment variable as unset', () => {
    const f = parse([], { INTERVAL: '', WORKERS: '   ', WATCH_NAMESPACE: '', LEADER_ELECT: ' ' });
    expect(f).toMatchObject({ interval: 10_000, workers: 8, namespace: undefined, elect: true });
  });

  it('trims environment values', () => {
    expect(parse([], { WATCH_NAMESPACE: ' test\n' }).namespace).toBe('test');
  });

  it('ignores environment variables no flag reads', () => {
    expect(parse([], { DRY: 'true', offset: '3' })).toMatchObject({
      dry: undefined,
      offset: undefined,
    });
  });

  it('lets the last of repeated flags win', () => {
    expect(parse(['--workers=2', '--workers=3']).workers).toBe(3);
  });
});

describe('parseFlags: forms', () => {
  it('accepts --name=value and --name value', () => {
    expect(parse(['--namespace=a']).namespace).toBe('a');
    expect(parse(['--namespace', 'b']).namespace).toBe('b');
  });

  it('keeps everything after the first = as the value', () => {
    expect(parse(['--namespace=a=b']).namespace).toBe('a=b');
  });

  it('accepts negative numbers as separate values', () => {
    expect(parse(['--offset', '-5']).offset).toBe(-5);
  });

  it('sets bool flags without a value, and never consumes the next argument', () => {
    expect(parse(['--dry']).dry).toBe(true);
    expect(parse(['--dry', '--workers=3'])).toMatchObject({ dry: true, workers: 3 });
    expect(errorOf(() => parse(['--dry', 'false']))).toContain('unexpected argument "false"');
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads --dry=%j as %s', (raw, value) => {
    expect(parse([`--dry=${raw}`]).dry).toBe(value);
  });

  it('reads bool environment variables', () => {
    expect(parse([], { LEADER_ELECT: 'no' }).elect).toBe(false);
    expect(parse([], { LEADER_ELECT: '1' }).elect).toBe(true);
  });
});

describe('parseFlags: errors name the flag and the source', () => {
  it.each([
    [['--interval=soon'], {}, '--interval: flag value "soon" is not a duration'],
    [[], { INTERVAL: 'soon' }, '--interval: INTERVAL="soon" is not a duration'],
    [['--interval=500ms'], {}, '--interval: flag value "500ms" is below the minimum of 1000ms'],
    [[], { TIMEOUT: '5' }, '--timeout: TIMEOUT="5" is not a duration'],
    [['--workers=many'], {}, '--workers: flag value "many" is not a whole number'],
    [[], { WORKERS: '2.5' }, '--workers: WORKERS="2.5" is not a whole number'],
    [[], { WORKERS: '0' }, '--workers: WORKERS="0" must be between 1 and 256'],
    [['--workers=257'], {}, '--workers: flag value "257" must be between 1 and 256'],
    [
      ['--offset=99999999999999999999'],
      {},
      '--offset: flag value "99999999999999999999" is too large',
    ],
    [['--level=trace'], {}, '--level: flag value "trace" must be one of debug, info, warn'],
    [[], { LOG_LEVEL: 'TRACE' }, '--level: LOG_LEVEL="TRACE" must be one of debug, info, warn'],
    [['--url=prometheus:9090'], {}, '--url: flag value "prometheus:9090" must be an http(s) URL'],
    [[], { PROM_URL: 'not a url' }, '--url: PROM_URL="not a url" is not a URL'],
    [
      [],
      { PROM_URL: 'ftp://prometheus' },
      '--url: PROM_URL="ftp://prometheus" must be an http(s) URL',
    ],
    [['--elect=maybe'], {}, '--elect: flag value "maybe" is not true or false'],
    [[], { LEADER_ELECT: 'maybe' }, '--elect: LEADER_ELECT="maybe" is not true or false'],
    [['--workers'], {}, '--workers needs a value'],
    [['--namespace', '--dry'], {}, '--namespace needs a value'],
  ] as const)('%j %j', (argv, env, message) => {
    expect(errorOf(() => parse([...argv], env))).toBe(
      message.endsWith('is not a duration')
        ? `${message} (examples: 10s, 1m, 500ms)`
        : message.endsWith('is not a URL')
          ? `${message} (example: http://prometheus.istio-system:9090)`
          : message,
    );
  });

  it('does not read the environment when the flag is given', () => {
    // The flag wins, so the environment is not even read.
    expect(parse(['--workers=3'], { WORKERS: 'x' }).workers).toBe(3);
  });

  it('lists the known flags for an unknown one', () => {
    expect(errorOf(() => parse(['--wokers=3']))).toBe(
      'unknown flag --wokers; known flags: --url, --interval, --timeout, --level, --namespace, --workers, --offset, --elect, --dry',
    );
  });

  it('refuses positional arguments and single-dash flags', () => {
    expect(errorOf(() => parse(['extra']))).toContain('unexpected argument "extra"');
    expect(errorOf(() => parse(['-workers=3']))).toContain('unexpected argument "-workers=3"');
  });

  it('checks a bad duration default', () => {
    const specs = {
      t: { type: 'duration', default: 'later', help: '' },
    } as const satisfies FlagSpecs;
    expect(errorOf(() => parseFlags(specs, [], {}))).toBe(
      '--t: default "later" is not a duration (examples: 10s, 1m, 500ms)',
    );
  });
});

describe('flagsHelp', () => {
  it('lists each flag with its variable and default', () => {
    const help = flagsHelp(SPECS);
    expect(help).toContain('  --workers [$WORKERS]\n      Workers (default 8)');
    expect(help).toContain('  --dry\n      Dry run');
    expect(help).not.toContain('--dry [');
  });
});
