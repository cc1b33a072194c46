// Steady client load through the mesh simulator's gateway for one host, counting every
// answer: 5xx from the canary's own fault profile apart, and every other error kept with
// what answered it and the phase of the test it happened in, so a suite can assert that a
// release, a rollback or a deletion cost no request the canary did not fail itself.

import http from 'node:http';
import { clusterEnv, waitFor } from './harness.js';

export interface BadAnswer {
  status: number;
  workload: string;
  body: string;
  phase: string;
}

export class GatewayTraffic {
  sent = 0;
  ok = 0;
  /** 500s from the canary's own fault profile. */
  canaryFaults = 0;
  readonly bad: BadAnswer[] = [];
  /** Answers by the workload that served them (the simulator's x-mesh-workload header). */
  readonly byWorkload = new Map<string, number>();
  /** Set by the test; recorded with each bad answer. */
  phase = 'start';
  startedAt = 0;
  stoppedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly host: string,
    private readonly canaryWorkload: string,
  ) {}

  start(rps: number): void {
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.fire(), 1000 / rps);
  }

  /** Requests per second actually sent. */
  get rate(): number {
    return (this.sent * 1000) / Math.max(1, (this.stoppedAt || Date.now()) - this.startedAt);
  }

  async stop(): Promise<void> {
    if (this.stoppedAt === 0) this.stoppedAt = Date.now();
    clearInterval(this.timer);
    await waitFor('in-flight requests to finish', () => this.done() === this.sent, 10_000, 50);
    this.agent.destroy();
  }

  private done(): number {
    return this.ok + this.canaryFaults + this.bad.length;
  }

  private fire(): void {
    this.sent++;
    const phase = this.phase;
    const req = http.get(
      clusterEnv().MESH_URL,
      { headers: { host: this.host }, agent: this.agent },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => this.record(res, body, phase));
      },
    );
    req.on('error', (e) => this.bad.push({ status: 0, workload: '', body: e.message, phase }));
  }

  private record(res: http.IncomingMessage, body: string, phase: string): void {
    const status = res.statusCode ?? 0;
    const workload = String(res.headers['x-mesh-workload'] ?? '');
    this.byWorkload.set(workload, (this.byWorkload.get(workload) ?? 0) + 1);
    if (status < 500) this.ok++;
    else if (status === 500 && workload === this.canaryWorkload) this.canaryFaults++;
    else this.bad.push({ status, workload, body: body.slice(0, 80), phase });
  }
}
