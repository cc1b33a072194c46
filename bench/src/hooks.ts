// Benchmark "hooks": does a lifecycle webhook that hangs cost the other Rollouts anything?
//
// 50 Rollouts release at once under one controller (namespace bench-hooks, pods on the
// benchmark's kwok node, traffic from the local mesh simulator). Two windows in one run:
//   A. the 50 stepping, no hooks anywhere;
//   B. the same 50 still stepping, plus extra Rollouts whose rollout hook (called at every
//      step) goes to a receiver that never answers (each attempt holds a socket until the
//      hook's timeout, then is retried) — the controller keeps calling it throughout.
// Step lag (when a step happened minus when it was due: the previous check plus the
// control-loop interval, from the Rollouts' own status) of the 50, p50/p99 in each window,
// and the controller's hook attempts and its step-lag histogram.
//
//   npm run bench -- hooks [--rollouts=50] [--hanging=1] [--window=60] [--warmup=30]
//                          [--loop=5] [--hook-timeout=30s]

import { applyYaml, installCrd, kubectl, setLoad, waitFor } from '@steerer/test/e2e/harness';
import { rolloutsPath, testClient, watch } from '@steerer/test/e2e/watch';
import type { RolloutObject, Watched } from '@steerer/test/e2e/watch';
import { Receiver } from '@steerer/test/receiver/receiver';
import { numberOption, parseOptions } from './lib/args.js';
import { startController } from './lib/controller.js';
import type { BenchController } from './lib/controller.js';
import { sum } from './lib/prom-text.js';
import { Result, progress, sleep } from './lib/results.js';
import { rounded, summarize } from './lib/stats.js';
import { appRollout, appWorkloads, benchNode } from './lib/scale-apps.js';
import type { ScaleApp } from './lib/scale-apps.js';

const opts = parseOptions(process.argv.slice(2), {
  rollouts: 'Rollouts stepping beside the hanging one (default 50)',
  hanging: 'Rollouts whose rollout hook hangs, in window B (default 1)',
  window: 'seconds measured in each window (default 60)',
  warmup: 'seconds after every release has stepped before window A (default 20)',
  loop: "the controller's --control-loop-interval, seconds (default 5)",
  'hook-timeout': 'the hanging hook timeout (default 30s)',
});
const N = numberOption(opts.rollouts, 50);
const HANGING = numberOption(opts.hanging, 1);
const WINDOW_S = numberOption(opts.window, 60);
const WARMUP_S = numberOption(opts.warmup, 20);
const LOOP_S = numberOption(opts.loop, 5);
const HOOK_TIMEOUT = typeof opts['hook-timeout'] === 'string' ? opts['hook-timeout'] : '30s';
const NS = 'bench-hooks';
const STEP_WEIGHT = 1; // 100 steps: every release outlasts both windows
const RPS = 5;

const app = (i: number): ScaleApp => ({
  namespace: NS,
  name: `h${String(i).padStart(3, '0')}`,
  role: 'progressing',
});

interface Step {
  name: string;
  at: number;
  lagMs: number;
}

function hangingRollout(a: ScaleApp, receiver: Receiver): string {
  return `${appRollout(a, STEP_WEIGHT)}  hooks:\n  - name: stuck\n    type: rollout\n    url: ${receiver.url(`/hang/${a.name}`)}\n    timeout: ${HOOK_TIMEOUT}\n`;
}

function lagFigures(
  steps: readonly Step[],
  from: number,
  to: number,
  names: Set<string>,
): Record<string, unknown> {
  const inWindow = steps.filter((s) => s.at >= from && s.at <= to && names.has(s.name));
  return { steps: inWindow.length, lagMs: rounded(summarize(inWindow.map((s) => s.lagMs)), 0) };
}

async function hookAttempts(c: BenchController): Promise<number> {
  return sum(await c.metrics(), 'steerer_hook_calls_total');
}

async function main(): Promise<void> {
  const result = new Result('hooks', {
    namespace: NS,
    rollouts: N,
    hanging: HANGING,
    windowSeconds: WINDOW_S,
    warmupSeconds: WARMUP_S,
    controlLoopIntervalSeconds: LOOP_S,
    stepWeight: STEP_WEIGHT,
    hookTimeout: HOOK_TIMEOUT,
    loadRps: RPS,
    traffic: 'the local mesh simulator (shared), steady load per app',
  });
  const receiver = await Receiver.start();
  receiver.setDefaultBehaviour({ kind: 'hang' });
  const client = testClient();
  const steps: Step[] = [];
  let rollouts: Watched<RolloutObject> | undefined;
  let controller: BenchController | undefined;
  const stepping = Array.from({ length: N }, (_, i) => app(i));
  const hanging = Array.from({ length: HANGING }, (_, i) => app(N + i));
  try {
    await installCrd();
    await applyYaml(benchNode());
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true']);
    await applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n`);
    progress(`${N + HANGING} apps`);
    for (const a of [...stepping, ...hanging]) await applyYaml(appWorkloads(a));
    await kubectl([
      'wait',
      '--for=condition=available',
      '--timeout=300s',
      'deployment',
      '--all',
      '-n',
      NS,
    ]);
    for (const a of [...stepping, ...hanging]) await setLoad(NS, a.name, RPS);
    rollouts = await watch<RolloutObject>(client, rolloutsPath(NS), (r, old) => {
      const s = r.status;
      const o = old?.status;
      if (!s?.lastStepTime || s.lastStepTime === o?.lastStepTime || !o?.lastCheckTime) return;
      if ((s.canaryWeight ?? 0) <= (o.canaryWeight ?? 0) || (o.canaryWeight ?? 0) === 0) return;
      const at = Date.parse(s.lastStepTime);
      steps.push({
        name: r.metadata.name,
        at,
        lagMs: at - (Date.parse(o.lastCheckTime) + LOOP_S * 1000),
      });
    });
    controller = await startController('bench-hooks', [
      `--namespace=${NS}`,
      `--control-loop-interval=${LOOP_S}s`,
    ]);
    const c = controller;
    progress(`${N} Rollouts released`);
    await applyYaml(stepping.map((a) => appRollout(a, STEP_WEIGHT)).join('---\n'));
    const w = rollouts;
    await waitFor(
      'every release to step at least twice',
      () =>
        stepping.every(
          (a) => (w.informer.get(`${NS}/${a.name}`)?.status?.canaryWeight ?? 0) >= 2 * STEP_WEIGHT,
        ),
      300_000,
      1000,
    );
    await sleep(WARMUP_S * 1000);
    const names = new Set(stepping.map((a) => a.name));
    progress(`window A: ${N} stepping, no hooks (${WINDOW_S}s)`);
    const a0 = Date.now();
    const hooksA0 = await hookAttempts(c);
    await sleep(WINDOW_S * 1000);
    const a1 = Date.now();
    const hooksA1 = await hookAttempts(c);

    progress(`window B: plus ${HANGING} Rollouts whose rollout hook hangs`);
    await applyYaml(hanging.map((a) => hangingRollout(a, receiver)).join('---\n'));
    await receiver.waitFor(
      (all) => all.length >= HANGING,
      120_000,
      'the hanging hooks to be called',
    );
    const b0 = Date.now();
    const hooksB0 = await hookAttempts(c);
    await sleep(WINDOW_S * 1000);
    const b1 = Date.now();
    const hooksB1 = await hookAttempts(c);
    const stuck = hanging.map((a) => w.informer.get(`${NS}/${a.name}`)?.status);

    const A = lagFigures(steps, a0, a1, names);
    const B = lagFigures(steps, b0, b1, names);
    const lagA = A.lagMs as { median: number; p99: number };
    const lagB = B.lagMs as { median: number; p99: number };
    result.data = {
      windowA: { ...A, hookAttempts: hooksA1 - hooksA0 },
      windowB: {
        ...B,
        hookAttempts: hooksB1 - hooksB0,
        hangingRequestsReceived: receiver.requests().length,
        hangingRollouts: stuck.map((s) => ({
          phase: s?.phase,
          weight: s?.canaryWeight,
          message: s?.message,
          hooks: s?.hooks,
        })),
      },
    };
    result.figure('no_hooks.step_lag.p50', lagA.median, 'ms');
    result.figure('no_hooks.step_lag.p99', lagA.p99, 'ms');
    result.figure('no_hooks.steps', A.steps as number, 'steps');
    result.figure('hanging_hook.step_lag.p50', lagB.median, 'ms');
    result.figure('hanging_hook.step_lag.p99', lagB.p99, 'ms', 'target: unchanged from no_hooks');
    result.figure('hanging_hook.steps', B.steps as number, 'steps');
    result.figure(
      'hanging_hook.attempts',
      hooksB1 - hooksB0,
      'attempts',
      `hook timeout ${HOOK_TIMEOUT}`,
    );
    result.figure(
      'hanging_hook.hanging_weight',
      stuck[0]?.canaryWeight ?? null,
      '%',
      'held at its first step',
    );
  } finally {
    rollouts?.stop();
    await controller?.stop();
    for (const a of [...stepping, ...hanging]) await setLoad(NS, a.name, 0).catch(() => undefined);
    await receiver.close();
    client.close();
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']).catch(
      () => undefined,
    );
  }
  result.write();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
