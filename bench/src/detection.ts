// Benchmark "detection": how long a failing canary keeps serving before Steerer halts it.
//
// Copies of the seed's example (bench/src/lib/seed-apps.ts) run under steady load from the
// mesh simulator, one per error ratio, in one namespace per control-loop interval, each
// namespace with its own controller (--namespace, --analysis-interval=1s). Every
// repetition is a fresh release (a new canary revision restarts it, and a release's
// measurement window never reaches back before its start). Once the release has run for
// a while, the canary's error ratio is switched at an exact instant through the
// simulator's admin API; in-process watches record when the Rollout's status turns
// Halted and when its Warning event arrives; the simulator's own counters give the
// failed requests the canary served meanwhile.
//
// The reference moment is when the success rate over the window Steerer measures
// (the spec's 1m, cut back to the release's age) falls below the threshold, computed from
// the release's actual weight history and the load: the target is a halt within two
// scrape intervals plus one second of that moment, whatever the control-loop interval.
//
//   npm run bench -- detection [--repetitions=10] [--loops=10,60] [--ratios=0.05,0.3,1]

import {
  applyYaml,
  clusterEnv,
  deleteNamespace,
  installCrd,
  kubectl,
  setFault,
  setLoad,
  waitFor,
} from '@steerer/test/e2e/harness';
import { rolloutsPath, testClient, watch } from '@steerer/test/e2e/watch';
import type { RolloutObject } from '@steerer/test/e2e/watch';
import type { KubeObject } from '@steerer/common';
import { numberList, numberOption, parseOptions } from './lib/args.js';
import { startController } from './lib/controller.js';
import type { BenchController } from './lib/controller.js';
import { CpuMeter } from './lib/machine.js';
import { scrape, sum } from './lib/prom-text.js';
import { Result, progress, sleep } from './lib/results.js';
import { seedApp, seedNamespace } from './lib/seed-apps.js';
import type { SeedApp } from './lib/seed-apps.js';
import { round, rounded, summarize } from './lib/stats.js';

const opts = parseOptions(process.argv.slice(2), {
  repetitions: 'repetitions per configuration (default 10)',
  loops: 'control-loop intervals, seconds (default 10,60)',
  ratios: 'error ratios of the fault (default 0.05,0.3,1)',
  rps: 'background load per app, requests/s (default 200)',
  'fault-age': 'earliest release age at the fault, seconds (default 22)',
  keep: 'leave the namespaces in place afterwards',
});
const REPS = numberOption(opts.repetitions, 10);
const LOOPS = numberList(opts.loops, [10, 60]);
const RATIOS = numberList(opts.ratios, [0.05, 0.3, 1]);
const RPS = numberOption(opts.rps, 200);
const FAULT_AGE_MS = numberOption(opts['fault-age'], 22) * 1000;
const SCRAPE_MS = 1000;
const ANALYSIS_MS = 1000;
const WINDOW_MS = 60_000; // the seed's metric.interval
const THRESHOLD = 99; // the seed's metric.threshold
const TARGET_SLACK_MS = 2 * SCRAPE_MS + 1000;

interface EventObject extends KubeObject {
  involvedObject?: { kind?: string; name?: string };
  message?: string;
}

interface Rep {
  repetition: number;
  releaseAgeAtFaultMs: number;
  weightAtFault: number;
  /** Theoretical moment the windowed success rate falls below the threshold. */
  crossingAfterFaultMs: number | null;
  haltStatusAfterFaultMs: number | null;
  haltEventAfterFaultMs: number | null;
  /** Halt recorded (status and event) after the theoretical crossing. */
  haltAfterCrossingMs: number | null;
  failedRequests: number | null;
  reportedSuccessRate: number | null;
  weightAtHalt: number | null;
  withinTarget: boolean;
}

interface AppRun {
  loopS: number;
  ratio: number;
  app: SeedApp;
  latest?: RolloutObject;
  start?: string;
  weights: { at: number; weight: number }[];
  faultAt?: number;
  haltStatusAt?: number;
  haltEventAt?: number;
  haltRollout?: RolloutObject;
  wake: (() => void)[];
  reps: Rep[];
  skipped: string[];
}

const label = (r: number): string => `${round(r * 100, 1)}%`;

function notify(a: AppRun): void {
  for (const w of a.wake.splice(0)) w();
}

/** Resolves once `check` holds, re-checked on every watch event of the app (and every 250 ms). */
async function until(
  a: AppRun,
  what: string,
  check: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`${a.app.namespace}/${a.app.name}: timed out waiting for ${what}`);
    await new Promise<void>((r) => {
      const t = setTimeout(r, 250);
      a.wake.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }
}

function onRollout(a: AppRun, r: RolloutObject): void {
  const now = Date.now();
  a.latest = r;
  const s = r.status ?? {};
  if (s.startTime && s.startTime !== a.start) {
    a.start = s.startTime;
    a.weights = [{ at: Date.parse(s.startTime), weight: s.canaryWeight ?? 0 }];
  } else if ((s.canaryWeight ?? 0) !== a.weights[a.weights.length - 1]?.weight) {
    a.weights.push({ at: now, weight: s.canaryWeight ?? 0 });
  }
  if (
    a.faultAt !== undefined &&
    a.haltStatusAt === undefined &&
    s.phase === 'Halted' &&
    /success rate/.test(s.message ?? '')
  ) {
    a.haltStatusAt = now;
    a.haltRollout = r;
  }
  notify(a);
}

function onEvent(a: AppRun, e: EventObject): void {
  if (a.faultAt === undefined || a.haltEventAt !== undefined) return;
  if (e.involvedObject?.kind !== 'Rollout' || e.involvedObject.name !== a.app.name) return;
  if (!(e.message ?? '').startsWith(`Halt rollout ${a.app.name}.${a.app.namespace} success rate`))
    return;
  a.haltEventAt = Date.now();
  notify(a);
}

/** ∫ weight over [from, to] of a step function given by its change points. */
function weightIntegral(
  weights: { at: number; weight: number }[],
  from: number,
  to: number,
): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as { at: number; weight: number };
    const segEnd = weights[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    const a = Math.max(from, w.at);
    const b = Math.min(to, segEnd);
    if (b > a) total += (b - a) * w.weight;
  }
  return total;
}

/**
 * The first instant after the fault at which the success rate over the window Steerer
 * measures (the spec's, cut back to whole seconds of the release's age) is below the
 * threshold, with the canary's traffic proportional to its weight.
 */
export function crossing(
  start: number,
  fault: number,
  weights: { at: number; weight: number }[],
  ratio: number,
): number | undefined {
  for (let t = fault + 1; t < fault + 300_000; t += 5) {
    const w = Math.min(WINDOW_MS, Math.max(2000, Math.ceil((t - start) / 1000) * 1000));
    const from = Math.max(start, t - w);
    const all = weightIntegral(weights, from, t);
    const bad = ratio * weightIntegral(weights, Math.max(from, fault), t);
    if (all > 0 && 100 * (1 - bad / all) < THRESHOLD) return t;
  }
  return undefined;
}

async function canaryFailures(a: AppRun): Promise<number> {
  const samples = await scrape(`${clusterEnv().MESH_ADMIN_URL}/metrics`);
  return sum(samples, 'istio_requests_total', {
    reporter: 'destination',
    destination_workload_namespace: a.app.namespace,
    destination_workload: a.app.canaryName,
    response_code: /^5/,
  });
}

async function repetition(a: AppRun, i: number): Promise<void> {
  const ns = a.app.namespace;
  const prevStart = a.start;
  await applyYaml(a.app.canary(i + 1));
  await until(a, 'a new release', () => a.start !== undefined && a.start !== prevStart, 120_000);
  const start = Date.parse(a.start as string);
  const targetWeight = a.loopS <= 10 ? 30 : 10;
  await until(
    a,
    `weight ${targetWeight}`,
    () => (a.latest?.status?.canaryWeight ?? 0) >= targetWeight,
    300_000,
  );
  const reachedAt = a.weights.find((w) => w.weight >= targetWeight)?.at ?? Date.now();
  const faultDue = Math.max(reachedAt + 1000, start + FAULT_AGE_MS);
  await sleep(Math.max(0, faultDue - Date.now()));
  const status = a.latest?.status ?? {};
  if (status.phase !== 'Progressing' || status.startTime !== a.start) {
    a.skipped.push(
      `repetition ${i}: ${status.phase ?? '?'} before the fault (${status.message ?? ''})`,
    );
    return;
  }
  const before = await canaryFailures(a);
  a.haltStatusAt = undefined;
  a.haltEventAt = undefined;
  const t0 = Date.now();
  await setFault(ns, a.app.canaryName, { errorRatio: a.ratio });
  const faultAt = (t0 + Date.now()) / 2;
  a.faultAt = faultAt;
  const weightAtFault = a.latest?.status?.canaryWeight ?? 0;
  let failed: number | null = null;
  try {
    await until(a, 'a halt in status', () => a.haltStatusAt !== undefined, 180_000);
    failed = (await canaryFailures(a)) - before;
    await until(a, 'the halt event', () => a.haltEventAt !== undefined, 30_000);
  } catch (e) {
    a.skipped.push(`repetition ${i}: ${String(e)}`);
  } finally {
    await setFault(ns, a.app.canaryName, null);
  }
  const cross = crossing(start, faultAt, a.weights, a.ratio);
  const recorded =
    a.haltStatusAt !== undefined && a.haltEventAt !== undefined
      ? Math.max(a.haltStatusAt, a.haltEventAt)
      : undefined;
  const rep: Rep = {
    repetition: i,
    releaseAgeAtFaultMs: Math.round(faultAt - start),
    weightAtFault,
    crossingAfterFaultMs: cross === undefined ? null : Math.round(cross - faultAt),
    haltStatusAfterFaultMs:
      a.haltStatusAt === undefined ? null : Math.round(a.haltStatusAt - faultAt),
    haltEventAfterFaultMs: a.haltEventAt === undefined ? null : Math.round(a.haltEventAt - faultAt),
    haltAfterCrossingMs:
      recorded === undefined || cross === undefined ? null : Math.round(recorded - cross),
    failedRequests: failed,
    reportedSuccessRate: a.haltRollout?.status?.analysis?.successRate ?? null,
    weightAtHalt: a.haltRollout?.status?.canaryWeight ?? null,
    withinTarget:
      recorded !== undefined && cross !== undefined && recorded - cross <= TARGET_SLACK_MS,
  };
  a.reps.push(rep);
  a.faultAt = undefined;
  progress(
    `${ns}/${a.app.name} #${i}: fault at age ${round(rep.releaseAgeAtFaultMs / 1000, 1)}s weight ${weightAtFault}; crossing +${rep.crossingAfterFaultMs}ms, status +${rep.haltStatusAfterFaultMs}ms, event +${rep.haltEventAfterFaultMs}ms, ${failed} failed`,
  );
}

async function main(): Promise<void> {
  const result = new Result('detection', {
    app: 'the seed example (primary, canary, VirtualService, Rollout: step 10, 1m window, threshold 99) renamed per error ratio; HPA left out',
    loadPerAppRps: RPS,
    repetitions: REPS,
    controlLoopIntervalsSeconds: LOOPS,
    errorRatios: RATIOS,
    analysisIntervalMs: ANALYSIS_MS,
    prometheusScrapeIntervalMs: SCRAPE_MS,
    fault: `at least ${FAULT_AGE_MS / 1000}s into the release and 1s after it reached weight 30 (10s loop) or 10 (longer loops)`,
    target: `halt recorded (status and event) within ${TARGET_SLACK_MS} ms (two scrape intervals + 1 s) of the theoretical crossing`,
  });
  await installCrd();
  const client = testClient();
  const runs: AppRun[] = [];
  const controllers: BenchController[] = [];
  const watches: { stop: () => void }[] = [];
  const namespaces = LOOPS.map((l) => `bench-detect-${l}s`);
  try {
    progress(`setting up ${namespaces.join(', ')}`);
    await Promise.all(namespaces.map((ns) => deleteNamespace(ns)));
    for (const [li, loopS] of LOOPS.entries()) {
      const ns = namespaces[li] as string;
      await applyYaml(seedNamespace(ns));
      const apps = RATIOS.map((r) =>
        seedApp(ns, `podinfo-e${Math.round(r * 1000) / 10}`.replace('.', 'p')),
      );
      await applyYaml(apps.map((a) => a.workloads).join('\n---\n'));
      for (const app of apps)
        runs.push({
          loopS,
          ratio: RATIOS[apps.indexOf(app)] as number,
          app,
          weights: [],
          wake: [],
          reps: [],
          skipped: [],
        });
    }
    for (const ns of namespaces)
      await kubectl([
        'wait',
        '-n',
        ns,
        '--for=condition=Available',
        '--timeout=180s',
        'deployment',
        '--all',
      ]);
    for (const a of runs) await setLoad(a.app.namespace, a.app.name, RPS);
    for (const [li, loopS] of LOOPS.entries()) {
      const ns = namespaces[li] as string;
      const mine = runs.filter((a) => a.app.namespace === ns);
      const byName = new Map(mine.map((a) => [a.app.name, a]));
      watches.push(
        await watch<RolloutObject>(client, rolloutsPath(ns), (r) => {
          const a = byName.get(r.metadata.name);
          if (a) onRollout(a, r);
        }),
        await watch<EventObject>(client, `/api/v1/namespaces/${ns}/events`, (e) => {
          const a = byName.get(e.involvedObject?.name ?? '');
          if (a) onEvent(a, e);
        }),
      );
      controllers.push(
        await startController(`bench-detect-${loopS}s`, [
          `--namespace=${ns}`,
          `--control-loop-interval=${loopS}s`,
          `--analysis-interval=${ANALYSIS_MS}ms`,
        ]),
      );
      await applyYaml(mine.map((a) => a.app.rollout).join('\n---\n'));
    }
    // The Rollouts start a release at once; let every app reach a steady first release.
    await waitFor(
      'every rollout to start',
      () => runs.every((a) => (a.latest?.status?.canaryWeight ?? 0) > 0),
      120_000,
    );
    const meter = new CpuMeter(
      Object.fromEntries(controllers.map((c, i) => [`controller-${LOOPS[i]}s`, c.pid])),
    );
    progress(`${runs.length} apps, ${REPS} repetitions each, in parallel`);
    await Promise.all(
      runs.map(async (a) => {
        for (let i = 0; i < REPS; i++) await repetition(a, i);
      }),
    );
    result.data.cpu = meter.read();
  } finally {
    for (const c of controllers) await c.stop();
    for (const w of watches) w.stop();
    for (const a of runs) {
      await setLoad(a.app.namespace, a.app.name, 0).catch(() => undefined);
      await setFault(a.app.namespace, a.app.canaryName, null).catch(() => undefined);
    }
    client.close();
    if (!opts.keep)
      await Promise.all(namespaces.map((ns) => deleteNamespace(ns).catch(() => undefined)));
  }

  const configs = runs.map((a) => {
    const reps = a.reps;
    const pick = (f: (r: Rep) => number | null): number[] =>
      reps.map(f).filter((v): v is number => v !== null);
    const s = {
      status: summarize(pick((r) => r.haltStatusAfterFaultMs)),
      event: summarize(pick((r) => r.haltEventAfterFaultMs)),
      crossing: summarize(pick((r) => r.crossingAfterFaultMs)),
      afterCrossing: summarize(pick((r) => r.haltAfterCrossingMs)),
      failed: summarize(pick((r) => r.failedRequests)),
    };
    const p = `detection.loop${a.loopS}s.error${label(a.ratio)}`;
    result.figure(
      `${p}.halt_status_after_fault.median`,
      round(s.status.median / 1000, 2),
      's',
      `p90 ${round(s.status.p90 / 1000, 2)} s, n=${s.status.n}`,
    );
    result.figure(
      `${p}.halt_event_after_fault.median`,
      round(s.event.median / 1000, 2),
      's',
      `p90 ${round(s.event.p90 / 1000, 2)} s`,
    );
    result.figure(
      `${p}.theoretical_crossing_after_fault.median`,
      round(s.crossing.median / 1000, 2),
      's',
      'when the windowed success rate falls below 99%',
    );
    result.figure(
      `${p}.halt_after_crossing.median`,
      round(s.afterCrossing.median / 1000, 2),
      's',
      `p90 ${round(s.afterCrossing.p90 / 1000, 2)} s; target <= ${TARGET_SLACK_MS / 1000} s`,
    );
    result.figure(
      `${p}.failed_requests_served.median`,
      s.failed.median,
      'requests',
      `p90 ${s.failed.p90}`,
    );
    result.figure(
      `${p}.within_target`,
      reps.filter((r) => r.withinTarget).length,
      `of ${reps.length}`,
    );
    for (const sk of a.skipped) result.note(`${a.app.namespace}/${a.app.name}: ${sk}`);
    return {
      controlLoopIntervalSeconds: a.loopS,
      errorRatio: a.ratio,
      app: `${a.app.namespace}/${a.app.name}`,
      haltStatusAfterFaultMs: rounded(s.status, 0),
      haltEventAfterFaultMs: rounded(s.event, 0),
      theoreticalCrossingAfterFaultMs: rounded(s.crossing, 0),
      haltAfterCrossingMs: rounded(s.afterCrossing, 0),
      failedRequests: rounded(s.failed, 0),
      repetitions: reps,
      skipped: a.skipped,
    };
  });
  // Independence of the control loop: the same ratio at each loop interval, median vs median.
  for (const ratio of RATIOS) {
    const m = LOOPS.map(
      (l) =>
        configs.find((c) => c.errorRatio === ratio && c.controlLoopIntervalSeconds === l)
          ?.haltAfterCrossingMs.median ?? null,
    );
    const found = m.filter((v): v is number => v !== null);
    if (found.length > 1 && found.length === m.length)
      result.figure(
        `detection.error${label(ratio)}.halt_after_crossing_spread_across_loops`,
        Math.max(...found) - Math.min(...found),
        'ms',
        `medians at loops ${LOOPS.join('/')}s: ${m.join('/')} ms`,
      );
  }
  result.data.configurations = configs;
  result.data.floor = {
    description:
      'after the windowed rate crosses the threshold: up to one scrape interval until Prometheus has the sample, up to one analysis interval until Steerer queries, then one reconcile (status write, event)',
    scrapeIntervalMs: SCRAPE_MS,
    analysisIntervalMs: ANALYSIS_MS,
    targetSlackMs: TARGET_SLACK_MS,
  };
  result.write();
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench detection failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
