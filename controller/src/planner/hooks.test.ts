import { describe, expect, it } from '@jest/globals';
import type { HookStatus } from '@steerer/common';
import { CONFIG, SEED_SPEC, World, seedObserved, seedRollout } from './testing.js';
import type { HookCall, HookResult, Plan } from './types.js';
import { plan } from './plan.js';
import { samples } from './testing.js';

type Answer = 'ok' | 'fail' | 'hang';

/** The seed's world with a runner that answers each hook as told, one attempt per pass. */
class HookWorld extends World {
  answers: Record<string, Answer> = {};
  results = new Map<string, HookResult>();
  /** Every attempt made: hook name, call id, the body's weight and phase. */
  readonly attempts: { name: string; id: string; weight: number; phase: string }[] = [];

  override preview(): Plan {
    return plan({
      rollout: this.rollout,
      observed: this.observed,
      analysis: samples(this.sample()),
      hooks: new Map([...this.results].map(([name, r]) => [name, [r]])),
      now: this.now,
      config: this.config,
    });
  }

  override pass(): Plan {
    const p = super.pass();
    const wanted = new Set(p.hooks.map((c) => c.hook.name));
    for (const name of [...this.results.keys()]) if (!wanted.has(name)) this.results.delete(name);
    for (const c of p.hooks) this.run(c);
    return p;
  }

  /** A restarted controller: the runner remembers nothing. */
  restart(): void {
    this.results.clear();
  }

  private run(c: HookCall): void {
    const r = this.results.get(c.hook.name);
    const fresh = !r || r.id !== c.id;
    const retry =
      r?.phase === 'Failed' && (c.maxAttempts === undefined || r.attempts < c.maxAttempts);
    if (!fresh && !retry) return;
    const answer = this.answers[c.hook.name] ?? 'ok';
    if (answer === 'hang' && !fresh) return;
    const attempts = (fresh ? c.priorAttempts : (r?.attempts ?? 0)) + (answer === 'hang' ? 0 : 1);
    this.attempts.push({
      name: c.hook.name,
      id: c.id,
      weight: c.payload.weight,
      phase: c.payload.phase,
    });
    this.results.set(c.hook.name, {
      id: c.id,
      phase: answer === 'hang' ? 'Running' : answer === 'ok' ? 'Succeeded' : 'Failed',
      attempts,
      at: this.now,
      ...(answer === 'fail' ? { code: 500, message: 'HTTP 500' } : {}),
      ...(answer === 'ok' ? { code: 200, message: 'HTTP 200' } : {}),
    });
  }

  hook(name: string): HookStatus | undefined {
    return hookOf(this, name);
  }

  calls(name: string): { name: string; id: string; weight: number; phase: string }[] {
    return this.attempts.filter((a) => a.name === name);
  }
}

function hookOf(w: World, name: string): HookStatus | undefined {
  return w.rollout.status?.hooks?.find((h) => h.name === name);
}

const ALL_HOOKS = [
  { name: 'smoke', type: 'pre-rollout', url: 'http://hooks.test/pre', metadata: { team: 'a' } },
  { name: 'load', type: 'rollout', url: 'http://hooks.test/rollout' },
  { name: 'approve', type: 'confirm-promotion', url: 'http://hooks.test/confirm' },
  { name: 'db', type: 'post-rollout', url: 'http://hooks.test/post' },
  { name: 'tell', type: 'rollback', url: 'http://hooks.test/rollback' },
];

function world(hooks: unknown[] = ALL_HOOKS, extra: Record<string, unknown> = {}): HookWorld {
  return new HookWorld(seedObserved(), seedRollout({ ...SEED_SPEC, hooks, ...extra }));
}

describe('lifecycle webhooks in a release', () => {
  it('calls each hook at its moment, once per (revision, step), with the documented body', () => {
    const w = world();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded' && !!hookOf(x, 'db'));
    w.runUntil((x) => hookOf(x, 'db')?.phase === 'Succeeded');
    const revision = w.rollout.status?.canaryRevision ?? '';
    expect(w.calls('smoke')).toEqual([
      { name: 'smoke', id: revision, weight: 0, phase: 'Progressing' },
    ]);
    expect(w.calls('load').map((c) => c.weight)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(w.calls('approve')).toHaveLength(1);
    expect(w.calls('db')).toEqual([{ name: 'db', id: revision, weight: 0, phase: 'Finalising' }]);
    expect(w.calls('tell')).toEqual([]);
    // The order: pre-rollout, the steps' rollout hooks, confirm-promotion, post-rollout.
    const order = w.attempts.map((a) => a.name);
    expect(order.indexOf('smoke')).toBe(0);
    expect(order.indexOf('approve')).toBeGreaterThan(order.lastIndexOf('load') - 1);
    expect(order.at(-1)).toBe('db');
    expect(w.hook('smoke')).toMatchObject({
      type: 'pre-rollout',
      revision,
      phase: 'Succeeded',
      attempts: 1,
      code: 200,
    });
  });

  it('passes the metadata and the hook in the body', () => {
    const w = world();
    const p = w.pass();
    expect(p.hooks).toEqual([
      expect.objectContaining({
        hook: expect.objectContaining({ name: 'smoke', timeoutMs: 10_000 }),
        payload: {
          name: 'podinfo',
          namespace: 'test',
          phase: 'Progressing',
          revision: w.rollout.status?.canaryRevision,
          weight: 0,
          hook: { name: 'smoke', type: 'pre-rollout' },
          metadata: { team: 'a' },
        },
        priorAttempts: 0,
      }),
    ]);
  });

  it('a succeeded hook is not called again after a restart', () => {
    const w = world();
    w.runUntil((x) => (x.rollout.status?.canaryWeight ?? 0) >= 30);
    w.now += 100;
    w.pass(); // the step's hook result is recorded in status
    expect(w.hook('load')).toMatchObject({ weight: 30, phase: 'Succeeded' });
    w.restart();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.calls('smoke')).toHaveLength(1);
    const weights = w.calls('load').map((c) => c.weight);
    expect(new Set(weights).size).toBe(weights.length);
  });

  it('waits for a pre-rollout hook that has not answered: no step, no halt', () => {
    const w = world();
    w.answers.smoke = 'hang';
    for (let i = 0; i < 5; i++) {
      w.pass();
      w.now += CONFIG.stepIntervalMs;
    }
    const s = w.rollout.status;
    expect(s?.phase).toBe('Progressing');
    expect(s?.canaryWeight).toBe(0);
    expect(s?.failedChecks).toBe(0);
    expect(s?.message).toBe(
      'Waiting for podinfo.test to start: waiting for pre-rollout hook smoke',
    );
    expect(w.hook('smoke')?.phase).toBe('Running');
    expect(w.calls('smoke')).toHaveLength(1);
  });

  it('a failing pre-rollout hook halts before the first step, counts failed checks and rolls back by the rule', () => {
    const w = world(ALL_HOOKS, { rollback: { failureDuration: '30s' } });
    w.answers.smoke = 'fail';
    w.pass();
    w.now += 100;
    w.pass();
    expect(w.rollout.status?.phase).toBe('Halted');
    expect(w.rollout.status?.message).toBe(
      'Halt rollout podinfo.test pre-rollout hook smoke failed: HTTP 500',
    );
    expect(w.rollout.status?.canaryWeight).toBe(0);
    w.runUntil((x) => x.rollout.status?.phase === 'RollingBack');
    const s = w.rollout.status;
    expect(s?.failureReason).toBe('RolledBack');
    expect(s?.failedChecks).toBeGreaterThanOrEqual(3);
    expect(
      w.events.some((e) => /Rolling back podinfo.test: its hooks have failed for 30s/.test(e)),
    ).toBe(true);
    w.runUntil((x) => hookOf(x, 'tell')?.phase === 'Succeeded');
    expect(w.calls('tell')).toEqual([
      expect.objectContaining({ phase: 'RollingBack', id: s?.canaryRevision }),
    ]);
    expect(w.calls('load')).toEqual([]);
  });

  it('a failing pre-rollout hook that recovers lets the release start', () => {
    const w = world(ALL_HOOKS, { rollback: { onFailure: false } });
    w.answers.smoke = 'fail';
    w.pass();
    w.now += CONFIG.stepIntervalMs;
    w.pass();
    expect(w.rollout.status?.phase).toBe('Halted');
    w.answers.smoke = 'ok';
    w.runUntil((x) => (x.rollout.status?.canaryWeight ?? 0) === 10);
    expect(w.rollout.status?.failingSince).toBeUndefined();
  });

  it('a failing rollout hook is a failed check: halts at its weight at once, and the release goes on once it answers', () => {
    const w = world(ALL_HOOKS, { rollback: { onFailure: false } });
    w.runUntil((x) => (x.rollout.status?.canaryWeight ?? 0) === 20);
    w.answers.load = 'fail';
    w.now += CONFIG.stepIntervalMs;
    w.pass(); // steps to 30: its hook fails
    expect(w.rollout.status?.message).toBe('Advance rollout podinfo.test weight 30');
    w.now += 100;
    w.pass(); // the failure halts at once
    const s = w.rollout.status;
    expect(s?.canaryWeight).toBe(30);
    expect(s?.phase).toBe('Halted');
    expect(s?.message).toBe('Halt rollout podinfo.test rollout hook load failed: HTTP 500');
    expect(s?.failingSince).toBeDefined();
    for (let i = 0; i < 3; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.rollout.status?.canaryWeight).toBe(30);
    expect(w.hook('load')).toMatchObject({ weight: 30, phase: 'Failed' });
    w.answers.load = 'ok';
    w.runUntil((x) => (x.rollout.status?.canaryWeight ?? 0) === 40);
  });

  it('a rollout hook that keeps failing rolls the release back by the rule', () => {
    const w = world(ALL_HOOKS, { rollback: { failureDuration: '30s' } });
    w.runUntil((x) => (x.rollout.status?.canaryWeight ?? 0) === 20);
    w.answers.load = 'fail';
    w.runUntil((x) => x.rollout.status?.phase === 'RollingBack');
    const s = w.rollout.status;
    expect(s?.failureReason).toBe('RolledBack');
    expect(s?.canaryWeight).toBe(0);
    expect(w.events.filter((e) => e.includes('Rolling back'))).toEqual([
      'Warning Rolling back podinfo.test: its checks have failed for 30s: rollout hook load failed: HTTP 500',
    ]);
  });

  it('a failing rollout hook halts even while the checks wait for requests', () => {
    const w = world(ALL_HOOKS, { rollback: { onFailure: false } });
    w.runUntil((x) => (x.rollout.status?.canaryWeight ?? 0) === 10);
    w.answers.load = 'fail';
    w.now += CONFIG.stepIntervalMs;
    w.pass(); // steps to 20: its hook fails
    expect(w.rollout.status?.canaryWeight).toBe(20);
    w.successRate = undefined; // no data: the checks alone would wait
    w.now += CONFIG.stepIntervalMs;
    w.pass();
    expect(w.rollout.status?.phase).toBe('Halted');
    expect(w.rollout.status?.message).toBe(
      'Halt rollout podinfo.test rollout hook load failed: HTTP 500',
    );
  });

  it('confirm-promotion holds at 100% until it says yes; the deadline does not roll it back', () => {
    const w = world(ALL_HOOKS);
    w.answers.approve = 'fail';
    w.runUntil((x) => /has not said yes/.test(x.rollout.status?.message ?? ''));
    expect(w.rollout.status?.canaryWeight).toBe(100);
    expect(w.rollout.status?.phase).toBe('Progressing');
    expect(w.rollout.status?.message).toBe(
      'Waiting for podinfo.test to be confirmed before promotion: confirm-promotion hook approve has not said yes (HTTP 500, attempt 1)',
    );
    // Longer than the progress deadline: still waiting, asked again and again.
    for (
      let t = 0;
      t < CONFIG.progressDeadlineMs + CONFIG.stepIntervalMs;
      t += CONFIG.stepIntervalMs
    ) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.rollout.status?.phase).toBe('Progressing');
    expect(w.calls('approve').length).toBeGreaterThan(10);
    expect(w.calls('db')).toEqual([]);
    w.answers.approve = 'ok';
    w.runUntil((x) => x.rollout.status?.phase === 'Promoting');
  });

  it('a post-rollout hook that keeps failing is given up after its attempts, and never undoes the promotion', () => {
    const w = world();
    w.answers.db = 'fail';
    w.runUntil((x) => hookOf(x, 'db')?.attempts === 5);
    for (let i = 0; i < 5; i++) {
      w.now += CONFIG.stepIntervalMs;
      w.pass();
    }
    expect(w.calls('db')).toHaveLength(5);
    expect(w.hook('db')).toMatchObject({ phase: 'Failed', attempts: 5 });
    expect(w.rollout.status?.phase).toBe('Succeeded');
    expect(w.preview().hooks).toEqual([]);
  });

  it('a Rollout without hooks wants no calls and has no status.hooks', () => {
    const w = new HookWorld();
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.attempts).toEqual([]);
    expect(w.rollout.status?.hooks).toBeUndefined();
  });

  it('a new revision starts the gating hooks over', () => {
    const w = world();
    w.runUntil((x) => hookOf(x, 'db')?.phase === 'Succeeded');
    w.bumpCanary('quay.io/stefanprodan/podinfo:1.3.0');
    w.runUntil((x) => x.rollout.status?.phase === 'Succeeded');
    expect(w.calls('smoke')).toHaveLength(2);
    expect(new Set(w.calls('smoke').map((c) => c.id)).size).toBe(2);
  });
});
