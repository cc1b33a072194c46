import { describe, expect, it } from '@jest/globals';
import { run } from './cli.js';
import { CliError } from './errors.js';
import { FakeKube, event, memoryIo, rollout } from './testing.js';

describe('run', () => {
  it('prints help and the version without a cluster', async () => {
    const kube = new FakeKube();
    const io = memoryIo(kube);
    io.connect = () => {
      throw new Error('must not connect');
    };
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out.text).toMatch(/^kubectl steerer: see and steer/);
    expect(io.out.text).toContain('promote NAME');
    io.out.text = '';
    expect(await run(['help', 'promote'], io)).toBe(0);
    expect(io.out.text).toContain('--force');
    expect(io.out.text).toContain('Example:');
    io.out.text = '';
    expect(await run(['version'], io)).toBe(0);
    expect(io.out.text).toMatch(/^kubectl-steerer \d+\.\d+\.\d+\n$/);
    expect(io.err.text).toBe('');
  });

  it('refuses a bad command line with exit 2 and the usage', async () => {
    const io = memoryIo(new FakeKube());
    expect(await run(['frobnicate'], io)).toBe(2);
    expect(io.err.text).toMatch(
      /^error: unknown command "frobnicate"\n\nUsage: kubectl steerer COMMAND/,
    );
    expect(io.err.text).toContain('Commands:');
    io.err.text = '';
    expect(await run(['status', 'podinfo', '--force'], io)).toBe(2);
    expect(io.err.text).toBe(
      'error: unknown flag --force for "status"\n\nUsage: kubectl steerer status NAME [flags]\nRun "kubectl steerer status --help" for more.\n',
    );
  });

  it('lists Rollouts, in one namespace or all', async () => {
    const kube = new FakeKube(
      rollout('podinfo', { phase: 'Succeeded', canaryWeight: 0 }),
      rollout('api', {}, 'prod'),
    );
    const io = memoryIo(kube);
    expect(await run(['get', '-n', 'test'], io)).toBe(0);
    expect(io.out.text.split('\n')[1]).toMatch(/^podinfo {3}Succeeded {3}0%/);
    expect(io.out.text).not.toContain('api');
    io.out.text = '';
    expect(await run(['get', '-A'], io)).toBe(0);
    expect(kube.calls).toEqual(['list test', 'list *']);
    expect(io.out.text.split('\n')[0]).toMatch(/^NAMESPACE {3}NAME/);
    io.out.text = '';
    expect(await run(['get', '-n', 'empty'], io)).toBe(0);
    expect(io.out.text).toBe('');
    expect(io.err.text).toBe('No rollouts found in namespace empty.\n');
  });

  it('fits get to the terminal width, and not when piped', async () => {
    const long = 'x'.repeat(200);
    const kube = new FakeKube(rollout('podinfo', { phase: 'Halted', message: long }));
    const tty = memoryIo(kube, { tty: true, columns: 70 });
    await run(['get'], tty);
    expect(
      Math.max(
        ...tty.out.text
          .trimEnd()
          .split('\n')
          .map((l) => l.length),
      ),
    ).toBe(70);
    const piped = memoryIo(kube);
    await run(['get'], piped);
    expect(piped.out.text).toContain(long);
  });

  it('prints the status of a Rollout', async () => {
    const kube = new FakeKube(
      rollout('podinfo', { phase: 'Progressing', canaryWeight: 40, message: 'next step in 3s' }),
    );
    kube.events = [event('e1', 'Advance rollout podinfo.test weight 40', '2026-03-01T11:59:58Z')];
    const io = memoryIo(kube);
    expect(await run(['status', 'podinfo'], io)).toBe(0);
    expect(io.out.text).toContain('Weight:        40% to the canary, 60% to the primary');
    expect(io.out.text).toContain('Waiting for:   next step in 3s');
    expect(io.out.text).toContain('2s    Normal   Synced   Advance rollout podinfo.test weight 40');
  });

  it('prints one sentence and exits 1 when something fails', async () => {
    const kube = new FakeKube();
    const io = memoryIo(kube);
    expect(await run(['status', 'nope'], io)).toBe(1);
    expect(io.err.text).toBe('error: rollout nope not found in namespace test\n');
    expect(io.out.text).toBe('');
    expect(kube.closed).toBe(true);

    io.err.text = '';
    io.connect = () => {
      throw new CliError('kubeconfig /nope does not exist');
    };
    expect(await run(['get'], io)).toBe(1);
    expect(io.err.text).toBe('error: kubeconfig /nope does not exist\n');

    io.err.text = '';
    io.connect = () => {
      throw new TypeError('something unexpected');
    };
    expect(await run(['get'], io)).toBe(1);
    expect(io.err.text).toBe('error: something unexpected\n');
  });
});
