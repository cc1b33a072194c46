// A small HTTPS keep-alive load generator for the webhook benchmark, run in its own
// process (pinned to its own core when taskset exists). Closed loop: C connections, each
// sends its next request when the previous answer arrived. Open loop: requests are due at
// a fixed rate whatever the answers do, and latency counts from the moment a request was
// due, so a stall shows up in full instead of silently slowing the sender.
// Latencies are recorded with microsecond resolution.
//
// Usage: node bench/dist/webhook-load.js '{"url":…,"body":…,"connections":8,…}'
// Prints one JSON object: counts, throughput and latency samples summary.

import https from 'node:https';
import { summarize } from './lib/stats.js';

export interface LoadSpec {
  url: string;
  /** The request body (JSON text). */
  body: string;
  connections: number;
  durationMs: number;
  warmupMs: number;
  /** Requests per second for an open loop; closed loop when absent. */
  rate?: number;
}

export interface LoadReport {
  mode: 'closed' | 'open';
  connections: number;
  targetRate: number | null;
  requests: number;
  /** Every answered request, warm-up included (for CPU cost per request). */
  answered: number;
  errors: number;
  seconds: number;
  throughput: number;
  /** Milliseconds from the moment a request was written to the moment its answer ended. */
  latencyMs: ReturnType<typeof summarize>;
  /** Open loop only: milliseconds from the moment a request was due (includes queueing). */
  responseTimeMs?: ReturnType<typeof summarize>;
  /** Open loop only: how late the generator sent requests (its own lag), ms. */
  sendLagMs?: ReturnType<typeof summarize>;
}

function run(spec: LoadSpec): Promise<LoadReport> {
  const url = new URL(spec.url);
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: spec.connections,
    rejectUnauthorized: false,
  });
  const body = Buffer.from(spec.body);
  const latencies: number[] = [];
  const responseTimes: number[] = [];
  const sendLags: number[] = [];
  let errors = 0;
  let completed = 0;
  let answered = 0;
  const t0 = performance.now();
  const measureFrom = t0 + spec.warmupMs;
  const end = measureFrom + spec.durationMs;

  const send = (dueAt: number): Promise<void> =>
    new Promise((resolve) => {
      const sentAt = performance.now();
      const req = https.request(
        {
          agent,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const done = performance.now();
            answered++;
            const ok = res.statusCode === 200 && Buffer.concat(chunks).includes('"allowed":true');
            if (dueAt >= measureFrom && dueAt < end) {
              completed++;
              if (!ok) errors++;
              latencies.push(done - sentAt);
              if (spec.rate) {
                responseTimes.push(done - dueAt);
                sendLags.push(sentAt - dueAt);
              }
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        if (dueAt >= measureFrom && dueAt < end) errors++;
        resolve();
      });
      req.end(body);
    });

  const finish = (): LoadReport => {
    agent.destroy();
    const seconds = spec.durationMs / 1000;
    return {
      mode: spec.rate ? 'open' : 'closed',
      connections: spec.connections,
      targetRate: spec.rate ?? null,
      requests: completed,
      answered,
      errors,
      seconds,
      throughput: Math.round(completed / seconds),
      latencyMs: summarize(latencies),
      ...(spec.rate
        ? { responseTimeMs: summarize(responseTimes), sendLagMs: summarize(sendLags) }
        : {}),
    };
  };

  if (!spec.rate) {
    const worker = async (): Promise<void> => {
      while (performance.now() < end) await send(performance.now());
    };
    return Promise.all(Array.from({ length: spec.connections }, worker)).then(finish);
  }

  const rate = spec.rate;
  return new Promise((resolve) => {
    let sent = 0;
    const inflight = new Set<Promise<void>>();
    const tick = (): void => {
      const now = performance.now();
      if (now >= end) {
        void Promise.all(inflight).then(() => resolve(finish()));
        return;
      }
      const due = Math.floor(((now - t0) / 1000) * rate);
      while (sent < due) {
        const dueAt = t0 + (sent * 1000) / rate;
        const p = send(dueAt).finally(() => inflight.delete(p));
        inflight.add(p);
        sent++;
      }
      // ~1 ms timer granularity: the lag this adds is reported as sendLagMs.
      setTimeout(tick, 0);
    };
    tick();
  });
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
run(spec).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    process.stderr.write(`webhook-load: ${String(e)}\n`);
    process.exit(1);
  },
);
