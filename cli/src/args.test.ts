import { describe, expect, it } from '@jest/globals';
import { DEFAULT_WAIT_MS, parseCommandLine, parseWait } from './args.js';
import { UsageError } from './errors.js';

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

describe('parseCommandLine', () => {
  it('reads get with its flags, before or after the command', () => {
    expect(parseCommandLine(['get'])).toEqual({
      command: 'get',
      name: undefined,
      connect: { kubeconfig: undefined, context: undefined, namespace: undefined },
      allNamespaces: false,
      request: undefined,
      waitMs: DEFAULT_WAIT_MS,
    });
    const inv = parseCommandLine(['-n', 'test', 'get', '--context=kind', '--kubeconfig', '/k']);
    expect(inv.command).toBe('get');
    expect(inv.connect).toEqual({ kubeconfig: '/k', context: 'kind', namespace: 'test' });
    expect(parseCommandLine(['get', '-A']).allNamespaces).toBe(true);
    expect(parseCommandLine(['get', '--all-namespaces']).allNamespaces).toBe(true);
    expect(parseCommandLine(['get', 'podinfo']).name).toBe('podinfo');
  });

  it('reads a Rollout name for status and watch, and requires it', () => {
    expect(parseCommandLine(['status', 'podinfo', '-n', 'test'])).toMatchObject({
      command: 'status',
      name: 'podinfo',
      connect: { namespace: 'test' },
    });
    expect(parseCommandLine(['watch', '--namespace=prod', 'api'])).toMatchObject({
      command: 'watch',
      name: 'api',
      connect: { namespace: 'prod' },
    });
    expect(usageError(['status']).message).toBe('"status" needs the name of a Rollout');
    expect(usageError(['watch', 'a', 'b']).message).toBe('too many arguments for "watch": a b');
  });

  it('maps each request command to its request, promote --force to promote-force', () => {
    for (const c of ['promote', 'abort', 'retry', 'pause', 'resume']) {
      expect(parseCommandLine([c, 'podinfo'])).toMatchObject({ command: c, request: c });
    }
    expect(parseCommandLine(['promote', 'podinfo', '--force']).request).toBe('promote-force');
  });

  it('reads --wait as a duration, 0 for not waiting', () => {
    expect(parseCommandLine(['pause', 'podinfo']).waitMs).toBe(30_000);
    expect(parseCommandLine(['pause', 'podinfo', '--wait=0']).waitMs).toBe(0);
    expect(parseCommandLine(['pause', 'podinfo', '--wait', '2m']).waitMs).toBe(120_000);
    expect(parseWait('1m30s')).toBe(90_000);
    expect(parseWait('0s')).toBe(0);
    const e = usageError(['pause', 'podinfo', '--wait=soon']);
    expect(e.message).toBe(
      '--wait=soon is not a duration (examples: --wait=30s, --wait=2m, --wait=0 not to wait)',
    );
    expect(e.command).toBe('pause');
  });

  it('refuses unknown flags, flags of other commands and flags without values', () => {
    expect(usageError(['get', '--bogus']).message).toBe('unknown flag --bogus for "get"');
    expect(usageError(['pause', 'p', '--force']).message).toBe('unknown flag --force for "pause"');
    expect(usageError(['status', 'p', '-A']).message).toBe('unknown flag -A for "status"');
    expect(usageError(['get', '-A', '--wait=1s']).message).toBe('unknown flag --wait for "get"');
    expect(usageError(['get', '-n']).message).toBe('flag -n needs a value');
    expect(usageError(['get', '--namespace=']).message).toBe('flag --namespace needs a value');
    expect(usageError(['get', '--bogus']).command).toBe('get');
  });

  it('refuses unknown commands', () => {
    const e = usageError(['frobnicate', 'podinfo']);
    expect(e.message).toBe('unknown command "frobnicate"');
    expect(e.command).toBeUndefined();
    expect(usageError(['help', 'frobnicate']).message).toBe('unknown command "frobnicate"');
  });

  it('reads help in all its forms', () => {
    const topic = (argv: string[]): string | undefined => {
      const inv = parseCommandLine(argv);
      expect(inv.command).toBe('help');
      return inv.topic;
    };
    expect(topic([])).toBeUndefined();
    expect(topic(['--help'])).toBeUndefined();
    expect(topic(['-h'])).toBeUndefined();
    expect(topic(['help'])).toBeUndefined();
    expect(topic(['help', 'watch'])).toBe('watch');
    expect(topic(['pause', '--help'])).toBe('pause');
    expect(topic(['get', 'x', '-h'])).toBe('get');
  });

  it('reads version as a command and as --version', () => {
    expect(parseCommandLine(['version']).command).toBe('version');
    expect(parseCommandLine(['--version']).command).toBe('version');
    expect(usageError(['version', 'x']).message).toBe('too many arguments for "version": x');
  });
});
