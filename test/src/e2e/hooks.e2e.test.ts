// Lifecycle webhooks (spec.hooks) on the real cluster, against a real HTTP receiver: each
// hook fires at its moment with the documented body; a failing pre-rollout hook holds the
// release and rolls it back by the rollback rule; a failing rollout hook holds it at its
// weight until the hook answers; confirm-promotion holds at 100% until the receiver says
// yes; a controller killed mid-release does not call a succeeded hook again.
//
// Three Rollouts release at once under one controller, to keep the suite short.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import {
  applyYaml,
  deleteNamespace,
  installCrd,
  kubectlJson,
  kubectlResult,
  rolloutEvents,
  setLoad,
  startController,
  waitAvailable,
  waitFor,
} from './harness.js';
import type { SteererProcess } from './harness.js';
import { Receiver } from '../receiver/receiver.js';
import type { RecordedRequest } from '../receiver/receiver.js';

const NS = 'hooks';
const CONTROLLER_ARGS = [
  '--control-loop-interval=2s',
  '--analysis-interval=1s',
  '--route-settle-time=2s',
  `--namespace=${NS}`,
];

function app(name: string): AppOptions {
  return {
    namespace: NS,
    name,
    image: 'quay.io/stefanprodan/podinfo:1.0.0',
    replicas: 1,
    stepWeight: 50,
    interval: '10s',
    threshold: 90,
  };
}

interface HookLine {
  name: string;
  type: string;
  path: string;
  timeout?: string;
  metadata?: Record<string, string>;
}

function withHooks(o: AppOptions, receiver: Receiver, hooks: HookLine[], rollback = ''): string {
  const lines = hooks.map((h) => {
    const meta = h.metadata
      ? `\n    metadata:\n${Object.entries(h.metadata)
          .map(([k, v]) => `      ${k}: "${v}"`)
          .join('\n')}`
      : '';
    return `  - name: ${h.name}\n    type: ${h.type}\n    url: ${receiver.url(h.path)}\n    timeout: ${h.timeout ?? '2s'}${meta}`;
  });
  return `${rolloutManifest(o)}  hooks:\n${lines.join('\n')}\n${rollback}`;
}

interface HookStatusView {
  name: string;
  type: string;
  revision: string;
  weight?: number;
  phase: string;
  attempts: number;
  code?: number;
  message?: string;
}

interface StatusView {
  phase?: string;
  canaryWeight?: number;
  canaryRevision?: string;
  failedChecks?: number;
  failureReason?: string;
  message?: string;
  hooks?: HookStatusView[];
  conditions?: { type: string; reason: string; status: string }[];
}

async function status(name: string): Promise<StatusView> {
  const r = await kubectlJson<{ status?: StatusView }>(['get', 'rollout', '-n', NS, name]);
  return r.status ?? {};
}

async function waitStatus(
  name: string,
  what: string,
  ok: (s: StatusView) => boolean,
  timeoutMs = 120_000,
): Promise<StatusView> {
  return waitFor(
    `${name}: ${what}`,
    async () => {
      const s = await status(name);
      return ok(s) ? s : false;
    },
    timeoutMs,
    200,
  );
}

function bodies(receiver: Receiver, path: string): Record<string, unknown>[] {
  return receiver.requests(path).map((r: RecordedRequest) => r.json as Record<string, unknown>);
}

const HAPPY = app('happy');
const PREFAIL = app('prefail');
const STEPFAIL = app('stepfail');
const APPS = [HAPPY, PREFAIL, STEPFAIL];

describe('lifecycle webhooks', () => {
  let receiver: Receiver;
  let controller: SteererProcess;
  const revisions = new Map<string, string>();

  beforeAll(async () => {
    receiver = await Receiver.start();
    receiver.setBehaviour('/happy/confirm', { kind: 'switch', on: false });
    receiver.setBehaviour('/prefail/pre', { kind: 'fail', status: 500 });
    receiver.setBehaviour('/stepfail/rollout', { kind: 'fail', status: 503 });
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    await Promise.all(APPS.map((a) => applyYaml(appManifests(a))));
    await waitAvailable(
      NS,
      APPS.flatMap((a) => [a.name, `${a.name}-canary`]),
    );
    await applyYaml(
      withHooks(HAPPY, receiver, [
        { name: 'smoke', type: 'pre-rollout', path: '/happy/pre', metadata: { suite: 'e2e' } },
        { name: 'load', type: 'rollout', path: '/happy/rollout' },
        { name: 'approve', type: 'confirm-promotion', path: '/happy/confirm' },
        { name: 'db-check', type: 'post-rollout', path: '/happy/post' },
        { name: 'tell', type: 'rollback', path: '/happy/rollback' },
      ]),
    );
    await applyYaml(
      withHooks(
        PREFAIL,
        receiver,
        [
          { name: 'smoke', type: 'pre-rollout', path: '/prefail/pre' },
          { name: 'tell', type: 'rollback', path: '/prefail/rollback' },
        ],
        '  rollback:\n    onFailure: true\n    failureDuration: 6s\n',
      ),
    );
    await applyYaml(
      withHooks(
        STEPFAIL,
        receiver,
        [{ name: 'load', type: 'rollout', path: '/stepfail/rollout' }],
        '  rollback:\n    onFailure: false\n',
      ),
    );
    controller = startController(CONTROLLER_ARGS);
    for (const a of APPS) {
      await waitStatus(a.name, 'Initialized', (s) => s.phase === 'Initialized', 60_000);
      await setLoad(NS, a.name, 40);
    }
    // No release yet: no hook was called.
    expect(receiver.requests()).toEqual([]);
    for (const a of APPS) {
      await applyYaml(canaryDeployment(a, 'quay.io/stefanprodan/podinfo:1.1.0'));
    }
    for (const a of APPS) {
      const s = await waitStatus(
        a.name,
        'a release',
        (v) => !!v.canaryRevision && v.phase !== 'Initialized',
      );
      revisions.set(a.name, s.canaryRevision ?? '');
    }
  });

  afterAll(async () => {
    for (const a of APPS) await setLoad(NS, a.name, 0).catch(() => undefined);
    await controller?.stop();
    await receiver?.close();
  });

  it('calls each hook at its moment with the documented body; confirm-promotion holds at 100% until yes; a restart repeats no succeeded hook', async () => {
    // pre-rollout: before the first step, at weight 0.
    const [pre] = await receiver.waitFor(
      (all) => {
        const got = all.filter((r) => r.path === '/happy/pre' && r.status === 200);
        return got.length > 0 && got;
      },
      60_000,
      'the pre-rollout hook',
    );
    expect(pre?.method).toBe('POST');
    expect(pre?.headers['content-type']).toBe('application/json');
    expect(pre?.json).toEqual({
      name: 'happy',
      namespace: NS,
      phase: 'Progressing',
      revision: revisions.get('happy'),
      weight: 0,
      hook: { name: 'smoke', type: 'pre-rollout' },
      metadata: { suite: 'e2e' },
    });
    // rollout: at the first step (50), before the next.
    await receiver.waitFor(
      (all) => all.some((r) => r.path === '/happy/rollout' && r.status === 200),
      60_000,
      'the rollout hook at 50',
    );
    const firstStep = bodies(receiver, '/happy/rollout')[0];
    expect(firstStep).toMatchObject({ weight: 50, hook: { name: 'load', type: 'rollout' } });
    const rolloutAt = receiver.requests('/happy/rollout')[0]?.at ?? 0;
    expect(pre?.at ?? Infinity).toBeLessThan(rolloutAt);

    // A controller killed mid-release: the succeeded pre-rollout hook is not called again.
    await controller.kill();
    controller = startController(CONTROLLER_ARGS);

    // confirm-promotion: asked at 100%, answered no; the release waits at the gate.
    await receiver.waitFor(
      (all) => all.filter((r) => r.path === '/happy/confirm').length >= 2,
      90_000,
      'confirm-promotion asked twice',
    );
    const waiting = await waitStatus(
      'happy',
      'waiting on confirm-promotion',
      (s) => s.canaryWeight === 100 && /confirm-promotion hook approve/.test(s.message ?? ''),
      60_000,
    );
    expect(waiting.phase).toBe('Progressing');
    expect(waiting.hooks?.find((h) => h.name === 'approve')).toMatchObject({
      type: 'confirm-promotion',
      phase: 'Failed',
      code: 403,
    });
    expect(bodies(receiver, '/happy/post')).toEqual([]);
    receiver.flip('/happy/confirm', true);
    const done = await waitStatus('happy', 'Succeeded', (s) => s.phase === 'Succeeded', 90_000);
    // post-rollout: once, after the promotion.
    await receiver.waitFor(
      (all) => all.some((r) => r.path === '/happy/post' && r.status === 200),
      30_000,
      'the post-rollout hook',
    );
    const post = receiver.requests('/happy/post');
    expect(post).toHaveLength(1);
    expect(post[0]?.json).toMatchObject({
      name: 'happy',
      revision: revisions.get('happy'),
      hook: { name: 'db-check', type: 'post-rollout' },
    });
    const yes = receiver.requests('/happy/confirm').find((r) => r.status === 200);
    expect(yes?.at ?? Infinity).toBeLessThan(post[0]?.at ?? 0);
    // Each hook once per (revision, step): the restart repeated none of them.
    expect(receiver.requests('/happy/pre')).toHaveLength(1);
    expect(bodies(receiver, '/happy/rollout').map((b) => b.weight)).toEqual([50, 100]);
    expect(receiver.requests('/happy/rollback')).toEqual([]);
    const final = await waitStatus(
      'happy',
      'post-rollout recorded',
      (s) => s.hooks?.find((h) => h.name === 'db-check')?.phase === 'Succeeded',
      30_000,
    );
    expect(final.hooks?.find((h) => h.name === 'smoke')).toMatchObject({
      phase: 'Succeeded',
      attempts: 1,
      revision: done.canaryRevision,
    });
  });

  it('a failing pre-rollout hook holds the release before its first step, then rolls it back by the rule', async () => {
    const failed = await waitStatus('prefail', 'Failed', (s) => s.phase === 'Failed', 90_000);
    expect(failed.failureReason).toBe('RolledBack');
    expect((failed.failedChecks ?? 0) > 0).toBe(true);
    expect(failed.canaryWeight ?? 0).toBe(0);
    expect(failed.hooks?.find((h) => h.name === 'smoke')).toMatchObject({
      phase: 'Failed',
      code: 500,
      message: 'HTTP 500',
    });
    // The rollback hook is told, once.
    await receiver.waitFor(
      (all) => all.some((r) => r.path === '/prefail/rollback' && r.status === 200),
      30_000,
      'the rollback hook',
    );
    expect(bodies(receiver, '/prefail/rollback')).toEqual([
      expect.objectContaining({
        name: 'prefail',
        revision: revisions.get('prefail'),
        hook: { name: 'tell', type: 'rollback' },
      }),
    ]);
    const messages = (await rolloutEvents(NS, 'prefail')).map((e) => e.message);
    // Held before the first step: halted by the hook, never advanced.
    expect(messages).toContain(
      'Halt rollout prefail.hooks pre-rollout hook smoke failed: HTTP 500',
    );
    expect(messages.filter((m) => m.startsWith('Advance rollout'))).toEqual([]);
    expect(
      messages.some((m) => /^Rolling back prefail\.hooks: its hooks have failed/.test(m)),
    ).toBe(true);
    // Retried with backoff while it failed, never past the first step.
    expect(receiver.requests('/prefail/pre').length).toBeGreaterThanOrEqual(2);
  });

  it('a failing rollout hook is a failed check: the release holds at its weight until the hook answers', async () => {
    const halted = await waitStatus(
      'stepfail',
      'halted at 50 by the hook',
      (s) => s.phase === 'Halted' && /rollout hook load failed: HTTP 503/.test(s.message ?? ''),
      90_000,
    );
    expect(halted.canaryWeight).toBe(50);
    expect(halted.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('False');
    // Held: more failed attempts, still at 50.
    const seen = receiver.requests('/stepfail/rollout').length;
    await receiver.waitFor(
      (all) => all.filter((r) => r.path === '/stepfail/rollout').length >= seen + 2,
      30_000,
      'two more attempts',
    );
    expect((await status('stepfail')).canaryWeight).toBe(50);
    receiver.setBehaviour('/stepfail/rollout', { kind: 'ok' });
    await waitStatus('stepfail', 'Succeeded', (s) => s.phase === 'Succeeded', 120_000);
    const weights = bodies(receiver, '/stepfail/rollout').map((b) => b.weight);
    expect(weights.filter((w) => w === 100)).toHaveLength(1);
  });

  it('refuses a bad URL and a bad timeout at apply time, naming the field', async () => {
    const bad = rolloutManifest(app('bad'))
      .concat('  hooks:\n  - name: first\n    type: rollout\n    url: ftp://user:pw@example.com/\n')
      .concat(
        '  - name: second\n    type: rollout\n    url: http://example.com/\n    timeout: 1h\n',
      );
    const r = await kubectlResult(['apply', '-f', '-'], bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.hooks\[0\]\.url/);
    expect(r.stderr).toMatch(/spec\.hooks\[1\]\.timeout/);
  });
});
