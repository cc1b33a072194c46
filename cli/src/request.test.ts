import { describe, expect, it } from '@jest/globals';
import { kubeTime } from '@steerer/common';
import type { RolloutObject } from '@steerer/common';
import { run } from './cli.js';
import { handling, runRequest, writeTime } from './request.js';
import { FakeKube, NOW, memoryIo, rollout } from './testing.js';

const progressing = (): RolloutObject =>
  rollout('podinfo', { phase: 'Progressing', canaryWeight: 30 });

/** A controller that handles the request on the `at`-th read of the Rollout. */
function controllerAt(
  kube: FakeKube,
  io: { now(): number },
  at: number,
  outcome: 'Done' | 'Refused',
  message: string,
): void {
  kube.onGet = (n) => {
    if (n === at) kube.handle('test', 'podinfo', outcome, message, kubeTime(io.now()));
  };
}

describe('a request', () => {
  it('writes the annotation, waits for the controller, and prints Done', async () => {
    const kube = new FakeKube(progressing());
    const io = memoryIo(kube);
    controllerAt(kube, io, 4, 'Done', 'paused at weight 30');
    const code = await runRequest(
      kube,
      { namespace: 'test', name: 'podinfo', request: 'pause', waitMs: 30_000 },
      io,
    );
    expect(code).toBe(0);
    expect(io.out.text).toBe('podinfo: pause Done — paused at weight 30\n');
    expect(io.err.text).toBe('');
    expect(kube.calls).toEqual([
      'get test/podinfo',
      'patch test/podinfo pause',
      'get test/podinfo',
      'get test/podinfo',
      'get test/podinfo',
    ]);
    expect(io.clock.now - NOW).toBe(1000);
  });

  it('prints a refusal on stderr and exits 1', async () => {
    const kube = new FakeKube(progressing());
    const io = memoryIo(kube);
    controllerAt(kube, io, 2, 'Refused', 'the release is not paused');
    const code = await runRequest(
      kube,
      { namespace: 'test', name: 'podinfo', request: 'resume', waitMs: 30_000 },
      io,
    );
    expect(code).toBe(1);
    expect(io.out.text).toBe('');
    expect(io.err.text).toBe('podinfo: resume Refused — the release is not paused\n');
  });

  it('gives up after --wait with a sentence asking whether the controller runs', async () => {
    const kube = new FakeKube(progressing());
    const io = memoryIo(kube);
    const code = await runRequest(
      kube,
      { namespace: 'test', name: 'podinfo', request: 'abort', waitMs: 30_000 },
      io,
    );
    expect(code).toBe(1);
    expect(io.err.text).toBe(
      'error: the controller did not handle the request within 30s — is it running? (steerer.io/request=abort stays on rollout podinfo in namespace test until it does)\n',
    );
    expect(io.clock.now - NOW).toBe(30_000);
    expect(kube.rollouts.get('test/podinfo')?.metadata.annotations).toEqual({
      'steerer.io/request': 'abort',
    });
  });

  it('does not take an earlier answer to the same request for this one', async () => {
    const old = rollout('podinfo', {
      phase: 'Paused',
      lastRequest: {
        action: 'pause',
        time: kubeTime(NOW - 60_000),
        outcome: 'Done',
        message: 'old',
      },
    });
    const kube = new FakeKube(old);
    const io = memoryIo(kube);
    const code = await runRequest(
      kube,
      { namespace: 'test', name: 'podinfo', request: 'pause', waitMs: 5000 },
      io,
    );
    expect(code).toBe(1);
    expect(io.out.text).toBe('');
    expect(io.err.text).toMatch(/did not handle the request within 5s/);
  });

  it('does not wait with --wait=0', async () => {
    const kube = new FakeKube(progressing());
    const io = memoryIo(kube);
    const code = await runRequest(
      kube,
      { namespace: 'test', name: 'podinfo', request: 'retry', waitMs: 0 },
      io,
    );
    expect(code).toBe(0);
    expect(io.out.text).toBe(
      'podinfo: retry requested (steerer.io/request=retry); not waiting for the controller\n',
    );
    expect(kube.calls).toEqual(['get test/podinfo', 'patch test/podinfo retry']);
  });

  it('says so when it replaces a request not handled yet, or is replaced itself', async () => {
    const kube = new FakeKube(rollout('podinfo', {}, 'test', { 'steerer.io/request': 'abort' }));
    const io = memoryIo(kube);
    kube.onGet = (n) => {
      if (n !== 2) return;
      // Someone else asks for abort before the controller gets to our pause.
      const r = kube.rollouts.get('test/podinfo');
      if (r?.metadata.annotations) r.metadata.annotations['steerer.io/request'] = 'abort';
      kube.handle('test', 'podinfo', 'Done', 'rolled back', kubeTime(io.now()));
    };
    const code = await runRequest(
      kube,
      { namespace: 'test', name: 'podinfo', request: 'pause', waitMs: 30_000 },
      io,
    );
    expect(code).toBe(1);
    expect(io.err.text).toBe(
      'note: replacing the request "abort", which the controller has not handled yet\n' +
        'error: another request (abort) replaced pause on rollout podinfo before the controller handled it; abort was Done — rolled back\n',
    );
  });

  it('stops waiting on Ctrl-C, saying the request stays', async () => {
    const kube = new FakeKube(progressing());
    const io = memoryIo(kube);
    kube.onGet = (n) => {
      if (n === 3) io.controller.abort();
    };
    const code = await runRequest(
      kube,
      { namespace: 'test', name: 'podinfo', request: 'pause', waitMs: 30_000 },
      io,
    );
    expect(code).toBe(130);
    expect(io.err.text).toBe(
      'stopped waiting: steerer.io/request=pause stays on rollout podinfo until the controller handles it\n',
    );
  });

  it('runs promote --force as promote-force through the command line', async () => {
    const kube = new FakeKube(rollout('podinfo', { phase: 'Halted' }));
    const io = memoryIo(kube);
    controllerAt(kube, io, 2, 'Done', 'promoting despite failing checks');
    const code = await run(['promote', 'podinfo', '--force', '-n', 'test'], io);
    expect(code).toBe(0);
    expect(kube.calls).toContain('patch test/podinfo promote-force');
    expect(io.out.text).toBe('podinfo: promote-force Done — promoting despite failing checks\n');
    expect(kube.closed).toBe(true);
  });
});

describe('handling', () => {
  const at = Date.parse('2026-03-01T12:00:00Z');
  const handled = (
    annotations: Record<string, string> | undefined,
    time: string,
    action = 'pause',
  ): RolloutObject =>
    rollout(
      'p',
      { lastRequest: { action, time, outcome: 'Done', message: '' } },
      'test',
      annotations,
    );

  it('is pending while the annotation is there, or the record is older than the write', () => {
    expect(
      handling(handled({ 'steerer.io/request': 'pause' }, '2026-03-01T12:00:05Z'), 'pause', at)
        .state,
    ).toBe('pending');
    expect(handling(handled(undefined, '2026-03-01T11:59:57Z'), 'pause', at).state).toBe('pending');
    expect(handling(rollout('p', {}), 'pause', at).state).toBe('pending');
  });

  it('is handled from the second of the write on, with a little room for clock skew', () => {
    expect(handling(handled(undefined, '2026-03-01T12:00:00Z'), 'pause', at).state).toBe('handled');
    expect(handling(handled(undefined, '2026-03-01T11:59:58Z'), 'pause', at).state).toBe('handled');
    expect(handling(handled(undefined, '2026-03-01T12:00:00Z', 'abort'), 'pause', at).state).toBe(
      'replaced',
    );
  });

  it('takes the time of the write from the server, else from this clock in whole seconds', () => {
    const patched = rollout('p');
    (patched.metadata as { managedFields?: unknown }).managedFields = [
      { manager: 'steerer', time: '2026-03-01T11:00:00Z' },
      { manager: 'kubectl-steerer', time: '2026-03-01T11:59:58Z' },
    ];
    expect(writeTime(patched, at + 700)).toBe(Date.parse('2026-03-01T11:59:58Z'));
    expect(writeTime(rollout('p'), at + 700)).toBe(at);
  });
});
