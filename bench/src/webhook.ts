// Benchmark "webhook": what the admission webhook adds to a deploy. The real express app
// and TLS setup (bench/src/webhook-server.ts) on one core, a keep-alive HTTPS load
// generator (bench/src/webhook-load.ts) on the other, a canary Deployment UPDATE with a
// changed pod template (the request that gets a patch) at concurrency 1, 8 and 64, and an
// open loop at 1,000 requests/s. The server's own CPU time per request gives its one-core
// capacity independently of what else the machine is doing.
//
//   npm run bench -- webhook [--duration=10] [--warmup=2] [--connections=1,8,64] [--rate=1000]
//                            [--profile]

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOGS, REPO } from '@steerer/test/e2e/harness';
import { numberList, numberOption, parseOptions } from './lib/args.js';
import { CpuMeter, machineFacts } from './lib/machine.js';
import { Result, progress, sleep } from './lib/results.js';
import { round, rounded } from './lib/stats.js';
import type { LoadReport, LoadSpec } from './webhook-load.js';
import { canaryUpdateReview, seedRollout } from './webhook-fixture.js';
import { parseAdmissionReview, reviewOf } from '@steerer/webhook/admission';
import { mutateDeployment } from '@steerer/webhook/mutate-deployment';

const opts = parseOptions(process.argv.slice(2), {
  duration: 'seconds measured per configuration (default 10)',
  warmup: 'seconds of load before measuring (default 2)',
  connections: 'closed-loop concurrencies (default 1,8,64)',
  rate: 'open-loop requests per second (default 1000)',
  'no-pin': 'do not pin the server and the load generator to cores 0 and 1',
  profile: 'write a V8 CPU profile of each server to .local/logs/profiles (skews the figures)',
});
const durationMs = numberOption(opts.duration, 10) * 1000;
const warmupMs = numberOption(opts.warmup, 2) * 1000;
const concurrencies = numberList(opts.connections, [1, 8, 64]);
const rate = numberOption(opts.rate, 1000);
const TARGET_P99_MS = 5;
const TARGET_RPS = 3000;

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return machineFacts().cores >= 2;
  } catch {
    return false;
  }
}
const pin = !opts['no-pin'] && hasTaskset();

function pinned(core: number, args: string[]): [string, string[]] {
  return pin
    ? ['taskset', ['-c', String(core), process.execPath, ...args]]
    : [process.execPath, args];
}

/** Runs the load generator; CPU is metered for the server, the generator and the machine. */
function runLoad(
  spec: LoadSpec,
  serverPid: number,
): Promise<{ report: LoadReport; cpu: ReturnType<CpuMeter['read']> }> {
  const [cmd, args] = pinned(1, [join(REPO, 'bench/dist/webhook-load.js'), JSON.stringify(spec)]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const meter = new CpuMeter({ server: serverPid, load: child.pid });
  let cpu: ReturnType<CpuMeter['read']> | undefined;
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    cpu ??= meter.read();
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0 || !cpu) reject(new Error(`load generator exited with ${code}`));
      else resolve({ report: JSON.parse(out) as LoadReport, cpu });
    });
  });
}

async function startServer(
  dir: string,
  mode: ServerMode,
): Promise<{ pid: number; url: string; stop: () => Promise<void> }> {
  const portFile = join(dir, `port-${mode}`);
  mkdirSync(LOGS, { recursive: true });
  const log = openSync(join(LOGS, `bench-webhook-${mode}.log`), 'w');
  const profile = opts.profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${join(LOGS, 'profiles')}`,
        `--cpu-prof-name=webhook-${mode}.cpuprofile`,
      ]
    : [];
  const [cmd, args] = pinned(0, [
    ...profile,
    join(REPO, 'bench/dist/webhook-server.js'),
    dir,
    portFile,
    ...(mode === 'steerer' ? [] : [mode]),
  ]);
  const server = spawn(cmd, args, { stdio: ['ignore', log, log] });
  for (let i = 0; !existsSync(portFile); i++) {
    if (i > 100 || server.exitCode !== null) throw new Error('the webhook server did not start');
    await sleep(100);
  }
  return {
    // taskset execs node, so the child's pid is the server's.
    pid: server.pid as number,
    url: `https://127.0.0.1:${readFileSync(portFile, 'utf8')}/mutate/deployments`,
    stop: async () => {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    },
  };
}

type ServerMode = 'steerer' | 'express' | 'baseline';

interface Config {
  label: string;
  connections: number;
  rate?: number;
  server: ServerMode;
}

async function main(): Promise<void> {
  const result = new Result('webhook', {
    request: 'AdmissionReview UPDATE of the seed canary Deployment, image 1.2.0 -> 1.3.0 (patched)',
    durationSeconds: durationMs / 1000,
    warmupSeconds: warmupMs / 1000,
    concurrencies,
    openLoopRate: rate,
    pinned: pin ? 'server on core 0, load generator on core 1 (taskset)' : 'not pinned',
    logLevel: 'info (every patched admission logs one JSON line, as deployed)',
    baseline: 'the same TLS server answering a constant body without express or Steerer code',
    express:
      "express with the app's JSON body reader (webhook/src/json-body.ts) answering a constant body, no Steerer code",
  });
  const dir = mkdtempSync(join(tmpdir(), 'steerer-bench-webhook-'));
  execFileSync(process.execPath, [
    join(REPO, 'certs/dist/cli.js'),
    'generate',
    '--out',
    dir,
    '--dns',
    'localhost',
    '--ip',
    '127.0.0.1',
  ]);
  const body = canaryUpdateReview();
  result.data.requestBytes = Buffer.byteLength(body);
  const breakdown = inProcessBreakdown(body);
  result.data.inProcessMicroseconds = breakdown;
  for (const [k, v] of Object.entries(breakdown))
    result.figure(`webhook.in_process.${k}`, v, 'us', 'one call, no HTTP');
  const configs: Config[] = [
    ...concurrencies.map((c) => ({ label: `c${c}`, connections: c, server: 'steerer' as const })),
    { label: `open${rate}`, connections: 64, rate, server: 'steerer' },
    ...[1, Math.max(...concurrencies)].map((c) => ({
      label: `baseline.c${c}`,
      connections: c,
      server: 'baseline' as const,
    })),
    { label: `baseline.open${rate}`, connections: 64, rate, server: 'baseline' },
    ...[1, Math.max(...concurrencies)].map((c) => ({
      label: `express.c${c}`,
      connections: c,
      server: 'express' as const,
    })),
  ];
  const runs: (Config & Record<string, unknown>)[] = [];
  try {
    for (const mode of ['steerer', 'baseline', 'express'] as const) {
      const server = await startServer(dir, mode);
      try {
        for (const c of configs.filter((x) => x.server === mode))
          runs.push(await measure(c, server, body, result));
      } finally {
        await server.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  result.data.runs = runs;
  const closed = runs.filter((r) => r.server === 'steerer' && !r.rate);
  const best = Math.max(...closed.map((r) => r.throughput as number));
  const capacity = Math.min(...closed.map((r) => r.oneCoreCapacity as number));
  const base = runs.filter((r) => r.server === 'baseline');
  const baseBest = Math.max(...base.map((r) => r.throughput as number));
  const baseCpu = Math.min(...base.map((r) => r.serverCpuPerRequestUs as number));
  const cpu = Math.min(...closed.map((r) => r.serverCpuPerRequestUs as number));
  const open = runs.find((r) => r.rate) as { latencyMs: { p99: number | null } } | undefined;
  result.figure('webhook.max_throughput_one_core', best, 'req/s', `target >= ${TARGET_RPS}`);
  result.figure(
    'webhook.one_core_capacity_from_cpu_time',
    capacity,
    'req/s',
    '1 s / server CPU per request, worst configuration',
  );
  result.figure(
    'webhook.baseline.max_throughput_one_core',
    baseBest,
    'req/s',
    'floor: Node HTTPS alone, same bodies',
  );
  result.figure('webhook.steerer_cpu_per_request_above_baseline', round(cpu - baseCpu, 1), 'us');
  const exp = runs.filter((r) => r.server === 'express');
  const expCpu = Math.min(...exp.map((r) => r.serverCpuPerRequestUs as number));
  result.figure(
    'webhook.express.max_throughput_one_core',
    Math.max(...exp.map((r) => r.throughput as number)),
    'req/s',
    "floor: express + the app's JSON body reader, no Steerer code",
  );
  result.figure('webhook.steerer_cpu_per_request_above_express', round(cpu - expCpu, 1), 'us');
  result.data.targets = {
    p99AtRate: {
      target: `p99 <= ${TARGET_P99_MS} ms at ${rate}/s`,
      measured: open?.latencyMs.p99,
      met: (open?.latencyMs.p99 ?? Infinity) <= TARGET_P99_MS,
    },
    throughput: {
      target: `>= ${TARGET_RPS} req/s on one core`,
      measured: best,
      met: best >= TARGET_RPS,
    },
  };
  result.write();
}

/** Microseconds per call of Steerer's own steps, in this process, without HTTP. */
function inProcessBreakdown(body: string): Record<string, number | null> {
  const time = (f: () => unknown): number | null => {
    for (let i = 0; i < 2000; i++) f();
    const n = 20_000;
    const t = performance.now();
    for (let i = 0; i < n; i++) f();
    return round(((performance.now() - t) * 1000) / n, 1);
  };
  const parsed = parseAdmissionReview(JSON.parse(body));
  if (!parsed.ok) throw new Error(`the fixture is not a valid AdmissionReview: ${parsed.reason}`);
  const facts = { rollout: seedRollout() };
  const out = mutateDeployment(parsed.request, facts, new Date());
  return {
    jsonParse: time(() => JSON.parse(body)),
    parseAdmissionReview: time(() => parseAdmissionReview(JSON.parse(body))),
    mutateDeployment: time(() => mutateDeployment(parsed.request, facts, new Date())),
    answer: time(() => JSON.stringify(reviewOf(out.response))),
  };
}

async function measure(
  c: Config,
  server: { pid: number; url: string },
  body: string,
  result: Result,
): Promise<Config & Record<string, unknown>> {
  progress(
    `webhook: ${c.server}, ${c.rate ? `open loop at ${c.rate}/s` : `${c.connections} connections`}`,
  );
  const { report, cpu } = await runLoad(
    {
      url: server.url,
      body,
      connections: c.connections,
      durationMs,
      warmupMs,
      ...(c.rate ? { rate: c.rate } : {}),
    },
    server.pid,
  );
  const serverCpuSeconds = (cpu.cores.server ?? 0) * cpu.seconds;
  const cpuPerRequestUs = (serverCpuSeconds / report.answered) * 1e6;
  const others = cpu.machineBusyCores - (cpu.cores.server ?? 0) - (cpu.cores.load ?? 0);
  const p = `webhook.${c.label}`;
  result.figure(
    `${p}.throughput`,
    report.throughput,
    'req/s',
    c.rate ? `target rate ${c.rate}/s` : undefined,
  );
  result.figure(`${p}.latency.p50`, round(report.latencyMs.median), 'ms');
  result.figure(
    `${p}.latency.p99`,
    round(report.latencyMs.p99),
    'ms',
    c.rate ? `target <= ${TARGET_P99_MS} ms` : undefined,
  );
  result.figure(`${p}.latency.max`, round(report.latencyMs.max), 'ms');
  if (report.responseTimeMs)
    result.figure(
      `${p}.response_time_from_due.p99`,
      round(report.responseTimeMs.p99),
      'ms',
      'includes queueing and generator lag',
    );
  result.figure(`${p}.errors`, report.errors, 'requests');
  result.figure(`${p}.server_cpu_per_request`, round(cpuPerRequestUs, 1), 'us');
  result.figure(
    `${p}.other_processes`,
    round(others, 2),
    'cores',
    'contention: CPU used by everything but server and generator',
  );
  return {
    ...c,
    throughput: report.throughput,
    requests: report.requests,
    errors: report.errors,
    latencyMs: rounded(report.latencyMs),
    ...(report.responseTimeMs ? { responseTimeMs: rounded(report.responseTimeMs) } : {}),
    ...(report.sendLagMs ? { sendLagMs: rounded(report.sendLagMs) } : {}),
    serverCores: cpu.cores.server,
    loadGeneratorCores: cpu.cores.load,
    otherProcessesCores: round(others, 2),
    serverCpuPerRequestUs: round(cpuPerRequestUs, 1),
    oneCoreCapacity: Math.round(1e6 / cpuPerRequestUs),
  };
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench webhook failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
