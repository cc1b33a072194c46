// Benchmark "judgment": how well Steerer judges a canary — false halts of healthy canaries,
// promotions of bad ones, release duration against the ideal, time to detect — for the
// OLD rule (the seed's) and the NEW one (counts, exact binomial tests), side by side, over
// thousands of simulated releases. No cluster, no network, no real timers: a Monte Carlo in
// simulated time, seeded and reproducible.
//
// What is real and what is simulated:
// - REAL: the planner (`plan`, every reconcile), the analysis hub (`AnalysisHub.refresh`,
//   one poll per analysis interval, 2 s, with an injected clock), the checks' queries
//   (`query`), `read`, windows (the spec's window cut to the release's age, and the
//   evidence window) and verdicts (stats.ts), the wiring's urgency test (`measuredFailure`),
//   the router's JSON patches, the spec's validation. They are bundled from the working
//   tree's sources (hack/bench.sh, esbuild), so the bench measures the code as it is.
// - SIMULATED (bench/src/lib/judgment-*.ts): the cluster (a world that applies the plan's
//   actions: weights at once, the canary ready at once, the primary's rollout 10 s after
//   the template is copied), the controller's triggers (a reconcile at the plan's requeue,
//   after a write that changed something, when the primary is ready, and when the hub
//   reports a first sample or a measured failure), the traffic (Poisson at R requests/s
//   split by the route's weights; each canary request an error with probability p, or
//   slower than the latency bound with probability q, by thinning), the sidecar's counters
//   (one series per response code, or per histogram bucket, born at the first request),
//   Prometheus' scrapes (every S s at a random phase) and its increase() (2.x
//   extrapolation), answered through a PrometheusClient fake that recognises the checks'
//   two query shapes (judgment-prom.ts). A self-check runs first: increase() against
//   hand-worked examples, the fake's answers read back by the real checks, the real hub
//   over the fake, the OLD rule through the real verdict, and the ideal release.
// - OLD rule: the seed's judgment (commit 38b187c): one value per poll, the success rate
//   over the window; halt below the threshold (at once, between steps), and halt on "no
//   data" at the step (fewer than two scrapes in the window, or no requests). Modelled by
//   feeding the same planner samples without counts, which the success-rate check judges
//   with the seed's `value >= threshold`, and "no data" samples as errors, which the
//   planner halts on at the step as the seed did (judgment-sim.ts). Everything else —
//   rollback after 2× the window of failing checks, the 10-minute progress deadline — is
//   today's planner for both rules.
//
// One release: a Rollout (the seed's: step 10%, window 1m, threshold 99%; or a p99 ≤ 500
// ms latency check) whose canary has a new template; it ends promoted (Succeeded), rolled
// back (checks, or the progress deadline), or at the cap (40 simulated minutes).
//
//   npm run bench -- judgment [--quick] [--releases=N] [--seed=N] [--workers=N]
//                             [--rps=1,10,100,1000] [--steps=10,60] [--scrapes=1,15,30]
//                             [--scenarios=healthy,errors-2,…] [--rules=old,new] [--cap=40]
//                             [--tag=NAME] [--exact-counts] [--trace=CONFIG:RULE:INDEX]
//
// Every release's seed comes from (--seed, its configuration, its index), so the figures
// are the same whatever --workers is. The defaults (250 releases per healthy
// configuration and rule, 1,000 per bad one) take about 30 minutes on one worker thread;
// --quick about 3 minutes.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { REPO } from '@steerer/test/e2e/harness';
import { numberList, numberOption, parseOptions } from './lib/args.js';
import { Result, progress } from './lib/results.js';
import {
  HEALTHY_SLOW,
  LATENCY,
  RECORD_FIELDS,
  REGRESSED_SLOW,
  SCENARIOS,
  configId,
  evaluateTargets,
  summarize,
} from './lib/judgment-grid.js';
import type { Config, ScenarioDef, Summary } from './lib/judgment-grid.js';
import { hashInts } from './lib/judgment-rng.js';
import { idealDurationMs, selfCheck } from './lib/judgment-selfcheck.js';
import {
  ANALYSIS_INTERVAL_MS,
  CHECK_WINDOW,
  LATENCY_BOUND_MS,
  OUTCOMES,
  PRIMARY_ROLLOUT_MS,
  STEP_WEIGHT,
  THRESHOLD,
  simulateRelease,
} from './lib/judgment-sim.js';
import type { ReleaseRecord, Rule } from './lib/judgment-sim.js';

/** A share of one configuration's releases for one rule, run by a worker. */
interface Task {
  id: number;
  config: string;
  scenario: string;
  rps: number;
  stepMs: number;
  scrapeMs: number;
  rule: Rule;
  configKey: number;
  from: number;
  to: number;
  seed: number;
  capMs: number;
  exactCounts: boolean;
}

interface TaskResult {
  id: number;
  records: number[][];
  /** Wall-clock milliseconds the worker spent on the task. */
  ms: number;
  error?: string;
}

function encode(r: ReleaseRecord): number[] {
  return RECORD_FIELDS.map((f) => (f === 'outcome' ? OUTCOMES.indexOf(r.outcome) : r[f]));
}

function decode(v: readonly number[]): ReleaseRecord {
  const o: Record<string, unknown> = {};
  RECORD_FIELDS.forEach((f, i) => {
    const x = v[i] ?? Number.NaN;
    o[f] = f === 'outcome' ? OUTCOMES[x] : x;
  });
  return o as unknown as ReleaseRecord;
}

function scenarioById(id: string): ScenarioDef {
  const s = SCENARIOS.find((d) => d.id === id);
  if (!s)
    throw new Error(`unknown scenario ${id}; known: ${SCENARIOS.map((d) => d.id).join(', ')}`);
  return s;
}

/** The seed of one release: the same for both rules (common random numbers). */
function releaseSeed(seed: number, configKey: number, i: number): number {
  return hashInts(seed, configKey, i);
}

async function runTask(t: Task): Promise<number[][]> {
  const def = scenarioById(t.scenario);
  const out: number[][] = [];
  for (let i = t.from; i < t.to; i++) {
    const r = await simulateRelease({
      rps: t.rps,
      stepMs: t.stepMs,
      scrapeMs: t.scrapeMs,
      scenario: def.scenario,
      rule: t.rule,
      capMs: t.capMs,
      exactCounts: t.exactCounts,
      seed: releaseSeed(t.seed, t.configKey, i),
    });
    out.push(encode(r));
  }
  return out;
}

function workerMain(): void {
  const port = parentPort;
  if (!port) return;
  port.on('message', (t: Task) => {
    const started = performance.now();
    runTask(t).then(
      (records) =>
        port.postMessage({
          id: t.id,
          records,
          ms: performance.now() - started,
        } satisfies TaskResult),
      (e: unknown) =>
        port.postMessage({
          id: t.id,
          records: [],
          ms: 0,
          error: String((e as Error).stack ?? e),
        } satisfies TaskResult),
    );
  });
}

/** One configuration under one rule: its releases, handed out in chunks. */
interface Job {
  config: Config;
  rule: Rule;
  configKey: number;
  /** The next release index to hand out. */
  next: number;
  /** Finished chunks by their first release index (workers may finish out of order). */
  chunks: Map<number, number[][]>;
  /** Wall-clock milliseconds the workers spent on the job. */
  ms: number;
}

const CHUNK = 50;

/** The job's records in release order: the same whatever the workers and their timing. */
function recordsOf(job: Job): ReleaseRecord[] {
  return [...job.chunks.entries()]
    .sort((a, b) => a[0] - b[0])
    .flatMap(([, records]) => records.map(decode));
}

/** Runs every release of every job on `n` worker threads, the costliest jobs first. */
async function runAll(
  jobs: Job[],
  n: number,
  total: number,
  seed: number,
  capMs: number,
  exactCounts: boolean,
): Promise<void> {
  let done = 0;
  let lastReport = Date.now();
  let ids = 0;
  const file = fileURLToPath(import.meta.url);
  const nextTask = (): { job: Job; task: Task } | undefined => {
    const job = jobs.find((j) => j.next < j.config.releases);
    if (!job) return undefined;
    const c = job.config;
    const task: Task = {
      id: ids++,
      config: c.id,
      scenario: c.scenario.id,
      rps: c.rps,
      stepMs: c.stepMs,
      scrapeMs: c.scrapeMs,
      rule: job.rule,
      configKey: job.configKey,
      from: job.next,
      to: Math.min(c.releases, job.next + CHUNK),
      seed,
      capMs,
      exactCounts,
    };
    job.next = task.to;
    return { job, task };
  };
  await Promise.all(
    Array.from({ length: Math.max(1, n) }, async () => {
      const w = new Worker(file);
      try {
        for (let t = nextTask(); t; t = nextTask()) {
          const { job, task } = t;
          const r = await new Promise<TaskResult>((resolve, reject) => {
            const onError = (e: Error): void => reject(e);
            w.once('error', onError);
            w.once('message', (m: TaskResult) => {
              w.off('error', onError);
              resolve(m);
            });
            w.postMessage(task);
          });
          if (r.error) throw new Error(`task ${task.config} ${task.rule}: ${r.error}`);
          job.chunks.set(task.from, r.records);
          job.ms += r.ms;
          done += r.records.length;
          if (Date.now() - lastReport > 30_000) {
            lastReport = Date.now();
            progress(`${done} of ${total} releases simulated`);
          }
        }
      } finally {
        await w.terminate();
      }
    }),
  );
}

/** `--trace=CONFIG:RULE:INDEX`: one release of a run, decision by decision, on stdout. */
async function traceRelease(spec: string, seed: number, capMs: number): Promise<void> {
  const m = /^(.+):(old|new):(\d+)$/.exec(spec);
  const [scenario, rps, step, scrape] = m?.[1]?.split('/') ?? [];
  const num = (v: string | undefined, prefix: string, unit: string): number => {
    const x =
      v?.startsWith(prefix) && v.endsWith(unit)
        ? Number(v.slice(prefix.length, v.length - unit.length))
        : NaN;
    if (!Number.isFinite(x))
      throw new Error(
        `--trace=${spec}: want CONFIG:RULE:INDEX, e.g. errors-2/rps10/step10s/scrape1s:new:75`,
      );
    return x;
  };
  const def = scenarioById(scenario ?? '');
  const c = {
    rps: num(rps, 'rps', ''),
    stepMs: num(step, 'step', 's') * 1000,
    scrapeMs: num(scrape, 'scrape', 's') * 1000,
  };
  const id = configId(def, c.rps, c.stepMs, c.scrapeMs);
  const r = await simulateRelease({
    ...c,
    scenario: def.scenario,
    rule: m?.[2] === 'old' ? 'old' : 'new',
    capMs,
    seed: releaseSeed(seed, configKeyOf(id), Number(m?.[3])),
    trace: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/** A configuration's part of every release's seed. */
function configKeyOf(id: string): number {
  return hashInts(...[...id].map((ch) => ch.charCodeAt(0)));
}

function fmtPct(k: number, n: number): string {
  if (n === 0) return 'n/a';
  const v = (k / n) * 100;
  return `${v === 0 || v === 100 ? v.toFixed(0) : v < 1 ? v.toFixed(2) : v.toFixed(1)}%`;
}

function fmt(v: number | null, digits = 2, suffix = ''): string {
  return v === null ? '∞' : `${v.toFixed(digits)}${suffix}`;
}

function healthyCells(s: Summary | undefined): string[] {
  if (!s) return ['', '', '', '', '', ''];
  return [
    `${fmtPct(s.anyHalt, s.releases)} [${s.anyHaltCi[0].toFixed(1)}–${s.anyHaltCi[1].toFixed(1)}]`,
    fmtPct(s.noData, s.releases),
    fmtPct(s.promoted, s.releases),
    fmtPct(s.timeouts, s.releases),
    `${fmt(s.durationRatio.median)}/${fmt(s.durationRatio.p90)}`,
    `${s.releases}`,
  ];
}

function badCells(s: Summary | undefined): string[] {
  if (!s) return ['', '', '', '', '', ''];
  return [
    `${s.promoted}`,
    fmtPct(s.detected, s.releases),
    `${fmt(s.detectS.median, 0)}/${fmt(s.detectS.p90, 0)}`,
    fmtPct(s.rolledBack, s.releases),
    s.badServed === null ? '-' : String(Math.round(s.badServed)),
    `${s.releases}`,
  ];
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows.map((r) => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')).join('\n');
}

/** The side-by-side tables, one per scenario. */
function report(summaries: Summary[], configs: Config[]): string {
  const lines: string[] = [];
  const find = (c: Config, rule: Rule): Summary | undefined =>
    summaries.find((s) => s.config === c.id && s.rule === rule);
  for (const def of SCENARIOS) {
    const mine = configs.filter((c) => c.scenario.id === def.id);
    if (mine.length === 0) continue;
    lines.push('', `== ${def.id}: ${def.title}`);
    const head = def.healthy
      ? ['any halt [95% CI]', 'no data', 'promoted', 'at cap', 'dur/ideal med/p90', 'n']
      : [
          'promoted',
          'detected',
          def.scenario.faultAtWeight ? 'fault→detect s med/p90' : 'detect s med/p90',
          'rolled back',
          'bad reqs med',
          'n',
        ];
    const rows: string[][] = [
      [
        'rps',
        'step',
        'scrape',
        '|',
        ...head.map((h) => `OLD ${h}`),
        '|',
        ...head.map((h) => `NEW ${h}`),
      ],
    ];
    for (const c of mine) {
      const cells = def.healthy ? healthyCells : badCells;
      rows.push([
        String(c.rps),
        `${c.stepMs / 1000}s`,
        `${c.scrapeMs / 1000}s`,
        '|',
        ...cells(find(c, 'old')),
        '|',
        ...cells(find(c, 'new')),
      ]);
    }
    lines.push(table(rows));
  }
  return lines.join('\n');
}

/** The code under test (the working tree may differ from the commit): a hash of its sources. */
function sourcesHash(): string {
  const h = createHash('sha256');
  for (const dir of [
    'common/src/model/checks',
    'controller/src/planner',
    'controller/src/analysis',
  ]) {
    const files = readdirSync(join(REPO, dir))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .sort();
    for (const f of files) h.update(`${dir}/${f}\n`).update(readFileSync(join(REPO, dir, f)));
  }
  return h.digest('hex').slice(0, 12);
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), {
    quick: 'a tenth of the releases (25 healthy, 100 bad per configuration and rule)',
    releases:
      'releases per configuration and rule, for every scenario (default 250 healthy, 1000 bad)',
    seed: 'the seed (default 20261127); printed, and the same seed gives the same figures',
    workers: `worker threads (default 1; this machine has ${os.cpus().length} cores); the figures do not depend on it`,
    rps: 'total requests per second (default 1,10,100,1000)',
    steps: 'step intervals in seconds (default 10,60)',
    scrapes: 'scrape intervals in seconds (default 1,15,30)',
    scenarios: `scenarios (default all: ${SCENARIOS.map((s) => s.id).join(',')})`,
    rules: 'rules (default old,new)',
    cap: 'simulated minutes after which a release is stopped (default 40)',
    tag: 'written as bench/results/judgment-TAG-DATE.json instead of judgment-DATE.json',
    trace:
      'print one release of the run decision by decision and stop: CONFIG:RULE:INDEX, e.g. errors-2/rps10/step10s/scrape1s:new:75',
    'exact-counts':
      'what-if: Prometheus answers exact counts (last minus first sample) instead of increase() with its extrapolation',
  });
  const seed = numberOption(opts.seed, 20261127) >>> 0;
  const workers = Math.max(1, numberOption(opts.workers, 1));
  const rpsList = numberList(opts.rps, [1, 10, 100, 1000]);
  const stepList = numberList(opts.steps, [10, 60]).map((s) => s * 1000);
  const scrapeList = numberList(opts.scrapes, [1, 15, 30]).map((s) => s * 1000);
  const capMs = numberOption(opts.cap, 40) * 60_000;
  if (typeof opts.trace === 'string') return traceRelease(opts.trace, seed, capMs);
  const exactCounts = opts['exact-counts'] === true;
  const scenarioIds =
    typeof opts.scenarios === 'string' ? opts.scenarios.split(',') : SCENARIOS.map((s) => s.id);
  const rules = (typeof opts.rules === 'string' ? opts.rules.split(',') : ['old', 'new']) as Rule[];
  for (const r of rules) if (r !== 'old' && r !== 'new') throw new Error(`unknown rule ${r}`);
  const releasesOf = (def: ScenarioDef): number =>
    opts.releases !== undefined
      ? numberOption(opts.releases, def.releases)
      : opts.quick
        ? Math.ceil(def.releases / 10)
        : def.releases;

  const configs: Config[] = [];
  for (const id of scenarioIds) {
    const def = scenarioById(id);
    for (const rps of rpsList)
      for (const stepMs of stepList)
        for (const scrapeMs of scrapeList)
          configs.push({
            id: configId(def, rps, stepMs, scrapeMs),
            scenario: def,
            rps,
            stepMs,
            scrapeMs,
            releases: releasesOf(def),
          });
  }
  const name = typeof opts.tag === 'string' ? `judgment-${opts.tag}` : 'judgment';
  const result = new Result(name, {
    seed,
    sourcesHash: sourcesHash(),
    workers,
    rps: rpsList,
    stepIntervalsS: stepList.map((s) => s / 1000),
    scrapeIntervalsS: scrapeList.map((s) => s / 1000),
    scenarios: scenarioIds,
    rules,
    capMinutes: capMs / 60_000,
    exactCounts,
    rollout: {
      stepWeight: STEP_WEIGHT,
      window: CHECK_WINDOW,
      threshold: THRESHOLD,
      latencyBoundMs: LATENCY_BOUND_MS,
    },
    controller: {
      analysisIntervalMs: ANALYSIS_INTERVAL_MS,
      rollbackOnFailure: true,
      failureDuration: '2× the window',
      progressDeadline: '10m',
      primaryRolloutMs: PRIMARY_ROLLOUT_MS,
    },
    latency: {
      ...LATENCY,
      healthySlowFraction: HEALTHY_SLOW,
      regressedSlowFraction: REGRESSED_SLOW,
    },
  });
  const started = performance.now();
  progress(`seed ${seed}; self-check of the fakes against the real code`);
  for (const n of await selfCheck()) result.note(`self-check: ${n}`);

  const ideal = new Map<string, number>();
  for (const stepMs of stepList)
    for (const kind of ['errors', 'latency'] as const)
      ideal.set(`${kind}/${stepMs}`, await idealDurationMs(stepMs, kind));

  const jobs: Job[] = [];
  for (const c of configs)
    for (const rule of rules)
      jobs.push({
        config: c,
        rule,
        configKey: configKeyOf(c.id),
        next: 0,
        chunks: new Map(),
        ms: 0,
      });
  // Long releases (little traffic, long steps) first, so the workers finish together.
  const weight = (j: Job): number => j.config.stepMs / Math.sqrt(j.config.rps);
  jobs.sort((a, b) => weight(b) - weight(a));
  const total = jobs.reduce((a, j) => a + j.config.releases, 0);
  progress(
    `${configs.length} configurations × ${rules.length} rules: ${total} releases on ${workers} worker thread(s)`,
  );
  await runAll(jobs, workers, total, seed, capMs, exactCounts);

  const summaries: Summary[] = [];
  for (const c of configs) {
    for (const rule of rules) {
      const job = jobs.find((j) => j.config === c && j.rule === rule);
      if (!job) continue;
      const records = recordsOf(job);
      const idealMs = ideal.get(`${c.scenario.scenario.behaviour.kind}/${c.stepMs}`) ?? Number.NaN;
      summaries.push({
        ...summarize(c, rule, records, idealMs),
        msPerRelease: Math.round((job.ms / Math.max(1, records.length)) * 100) / 100,
      });
    }
  }
  const seconds = (performance.now() - started) / 1000;

  const text = report(summaries, configs);
  process.stdout.write(`${text}\n\n`);
  const targets = evaluateTargets(summaries);
  const lines = targets.map((t) => `${t.pass ? 'PASS' : 'MISS'}  ${t.target} — ${t.detail}`);
  process.stdout.write(`== targets (NEW rule; OLD for comparison)\n${lines.join('\n')}\n\n`);
  const misses = targets.filter((t) => !t.pass).length;
  const simulated = summaries.reduce((a, x) => a + x.releases, 0);
  result.figure(
    'releases',
    simulated,
    'releases',
    `${configs.length} configurations × ${rules.join('+')}`,
  );
  const cpu = process.cpuUsage();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  result.figure('runtime', Math.round(seconds), 's', `${workers} worker thread(s)`);
  result.figure('cpu', Math.round(cpuSeconds), 's', 'CPU time of the whole process');
  result.figure('targets_missed', misses, 'lines', `of ${targets.length}`);
  const newRows = summaries.filter((s) => s.rule === 'new');
  const hot = newRows.reduce((a, s) => a + s.hotLoopReleases, 0);
  const newReleases = newRows.reduce((a, s) => a + s.releases, 0);
  result.figure(
    'new_rule_hot_loop_releases',
    newReleases ? Math.round((hot / newReleases) * 10000) / 100 : null,
    '%',
    'releases whose planner asked to be requeued every 100 ms without changing anything',
  );
  result.note(
    `seed ${seed}; legend: any halt = ≥1 halt of any kind or a rollback; no data = a halt on no data (or a missing measurement) or a rollback on the progress deadline; dur/ideal = start to Succeeded over the ideal (∞ when not promoted); detect = start (or the fault) to the first halt on a measured failure or the rollback`,
  );
  result.data.summaries = summaries;
  result.data.targets = targets;
  result.data.table = text;
  const file = result.write();
  const txt = join(
    REPO,
    'bench/results',
    file
      .split('/')
      .pop()
      ?.replace(/\.json$/, '.txt') ?? `${name}.txt`,
  );
  const m = result.machineBefore;
  const load = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
  const header = [
    `seed ${seed}, ${simulated} releases, ${Math.round(seconds)} s wall and ${Math.round(cpuSeconds)} s CPU on ${workers} worker thread(s)`,
    `machine: ${m.cores} CPUs (${m.cpuModel}), Node ${m.node}, ${m.platform}; load average ${load(m.loadAverage)} before, ${load(os.loadavg())} after`,
    `code: commit ${m.commit}${m.dirty ? ' + uncommitted changes' : ''}, judgment sources ${result.config.sourcesHash as string}`,
  ].join('\n');
  writeFileSync(txt, `${header}\n${text}\n\n== targets\n${lines.join('\n')}\n`);
  process.stdout.write(`# table written to ${txt}\n`);
}

if (isMainThread) {
  main().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
} else {
  workerMain();
}
