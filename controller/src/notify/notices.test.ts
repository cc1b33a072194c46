// Notices read off the real planner's decisions in the seed's world: once per decision,
// never again for a status already written (a restarted controller), one halt per run.

import { describe, expect, it } from '@jest/globals';
import { validateRolloutSpec } from '@steerer/common';
import type { RolloutSpec, RolloutStatus } from '@steerer/common';
import { World } from '../planner/testing.js';
import { noticesOf } from './notices.js';
import type { Notice } from './notices.js';

function specOf(w: World): RolloutSpec | undefined {
  const v = validateRolloutSpec(w.rollout.spec, { namespace: 'test' });
  return v.ok ? v.value : undefined;
}

/** Runs passes like World.runUntil, collecting the notices of each decision. */
function collect(w: World, until: (w: World) => boolean, stepMs = 10_000, max = 300): Notice[] {
  const out: Notice[] = [];
  for (let i = 0; i < max; i++) {
    const prev: RolloutStatus = w.rollout.status ?? {};
    const p = w.pass();
    out.push(
      ...noticesOf({
        namespace: 'test',
        name: 'podinfo',
        uid: 'uid-1',
        prev,
        next: p.status,
        spec: specOf(w),
        now: w.now,
      }),
    );
    if (until(w)) return out;
    w.now += stepMs;
  }
  throw new Error('condition not reached');
}

function kinds(ns: readonly Notice[]): string[] {
  return ns.map((n) => (n.kind === 'step' ? `step ${n.weight}` : n.kind));
}

describe('notices of a release', () => {
  it('a healthy release: started, each step, promoted — once each', () => {
    const w = new World();
    const ns = collect(w, (x) => x.rollout.status?.phase === 'Succeeded');
    expect(kinds(ns)).toEqual([
      'started',
      ...[10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((x) => `step ${x}`),
      'promoted',
    ]);
    const [started] = ns;
    expect(started).toMatchObject({
      kind: 'started',
      namespace: 'test',
      name: 'podinfo',
      reason: expect.stringMatching(/^new revision \S+ of podinfo-canary\.test$/),
      canary: 'podinfo-canary',
      primary: 'podinfo',
    });
    expect(ns.at(-1)?.reason).toMatch(/^podinfo\.test runs revision \S+; its checks passed$/);
    // Ids are unique and stable: uid / revision / kind / what tells two apart.
    expect(new Set(ns.map((n) => n.id)).size).toBe(ns.length);
    expect(started?.id).toMatch(/^uid-1\/\S+\/started\/2026-01-01T00:00:00\.000Z$/);
  });

  it('a canary that keeps failing: one halt for the run of halts, then one rollback', () => {
    const w = new World();
    const before = collect(w, (x) => x.rollout.status?.canaryWeight === 30);
    w.successRate = 50;
    const after = collect(w, (x) => x.rollout.status?.phase === 'Failed', 1000);
    // Many halted passes (an Event for each), one notice.
    expect(w.events.filter((e) => e.startsWith('Warning Halt rollout')).length).toBeGreaterThan(5);
    expect(kinds([...before, ...after])).toEqual([
      'started',
      'step 10',
      'step 20',
      'step 30',
      'halted',
      'rolled-back',
    ]);
    const halted = after.find((n) => n.kind === 'halted');
    expect(halted).toMatchObject({
      phase: 'Halted',
      weight: 30,
      reason: 'success rate 50.00% < 99%',
    });
    const rolledBack = after.find((n) => n.kind === 'rolled-back');
    expect(rolledBack).toMatchObject({
      phase: 'RollingBack',
      weight: 0,
      failureReason: 'RolledBack',
      reason: expect.stringMatching(/^its checks have failed for 2m: success rate 50\.00% < 99%$/),
    });
  });

  it('halts that clear and return at a later step are a new run', () => {
    const w = new World();
    collect(w, (x) => x.rollout.status?.canaryWeight === 20);
    w.successRate = 50;
    const first = collect(w, (x) => x.rollout.status?.phase === 'Halted', 1000);
    w.successRate = 100;
    const recovered = collect(w, (x) => x.rollout.status?.canaryWeight === 40);
    w.successRate = 50;
    const second = collect(w, (x) => x.rollout.status?.phase === 'Halted', 1000);
    expect(kinds([...first, ...recovered, ...second])).toEqual([
      'halted',
      'step 30',
      'step 40',
      'halted',
    ]);
  });

  it('a release without progress: deadline-exceeded, not rolled-back', () => {
    const w = new World();
    collect(w, (x) => x.rollout.status?.canaryWeight === 10);
    w.successRate = undefined;
    const ns = collect(w, (x) => x.rollout.status?.phase === 'RollingBack', 10_000, 200);
    expect(kinds(ns)).toContain('deadline-exceeded');
    expect(kinds(ns)).not.toContain('rolled-back');
    expect(ns.find((n) => n.kind === 'deadline-exceeded')).toMatchObject({
      failureReason: 'ProgressDeadlineExceeded',
      reason: expect.stringMatching(/^no progress for 10m/),
    });
  });

  it('an abort by request is a rollback saying so', () => {
    const w = new World();
    collect(w, (x) => x.rollout.status?.canaryWeight === 20);
    w.rollout.metadata.annotations = { 'steerer.io/request': 'abort' };
    const ns = collect(w, (x) => x.rollout.status?.phase === 'RollingBack');
    expect(ns.map((n) => [n.kind, n.failureReason, n.reason])).toEqual([
      ['rolled-back', 'Aborted', 'aborted by request'],
    ]);
  });

  it('nothing again for a status already written (a restarted controller plans from it)', () => {
    const w = new World();
    collect(
      w,
      (x) => x.rollout.status?.phase === 'Halted' || x.rollout.status?.canaryWeight === 10,
    );
    const s = w.rollout.status ?? {};
    expect(
      noticesOf({
        namespace: 'test',
        name: 'podinfo',
        prev: s,
        next: s,
        spec: undefined,
        now: w.now,
      }),
    ).toEqual([]);
  });

  it('says why a release starts: a retry, a new revision mid-release', () => {
    const base: RolloutStatus = { phase: 'Failed', canaryRevision: 'abc', startTime: 't0' };
    const retry = noticesOf({
      namespace: 'test',
      name: 'podinfo',
      prev: base,
      next: { ...base, phase: 'Progressing', startTime: 't1' },
      spec: undefined,
      now: 0,
    });
    expect(retry[0]?.reason).toBe('a retry of revision abc was requested');
    const restart = noticesOf({
      namespace: 'test',
      name: 'podinfo',
      prev: { ...base, phase: 'Halted' },
      next: { phase: 'Progressing', canaryRevision: 'def', startTime: 't1' },
      spec: undefined,
      now: 0,
    });
    expect(restart[0]?.reason).toBe('new revision def of the canary replaced abc mid-release');
  });
});
