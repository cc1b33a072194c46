// Measures the CPU cost of background load through the real gateway path (routing, faults,
// metrics) with in-memory objects, no cluster: `node test/dist/mesh/bench-load.js
// [virtualServices=10] [rpsEach=200] [seconds=10]`. Prints one JSON line.

import { realClock, sleep } from './clock.js';
import { FaultOverrides } from './faults.js';
import { backgroundRequest, Gateway } from './gateway.js';
import { IstioMetrics } from './istio-metrics.js';
import { LoadScheduler } from './load.js';
import { silentLogger } from './log.js';
import { SelfMetrics } from './self-metrics.js';
import { MeshStore } from './store.js';
import { rawDeployment, rawService, rawVirtualService } from './test-objects.js';

function arg(i: number, fallback: number): number {
  const n = Number(process.argv[i]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

async function bench(): Promise<void> {
  const vsCount = arg(2, 10);
  const rps = arg(3, 200);
  const seconds = arg(4, 10);
  const store = new MeshStore(silentLogger);
  const vss: unknown[] = [];
  const services: unknown[] = [];
  const deployments: unknown[] = [];
  for (let i = 0; i < vsCount; i++) {
    vss.push(
      rawVirtualService({
        name: `vs${i}`,
        hosts: [`app${i}.example.com`],
        destinations: [
          { host: `app${i}`, weight: 90 },
          { host: `app${i}-canary`, weight: 10 },
        ],
      }),
    );
    services.push(rawService(`app${i}`), rawService(`app${i}-canary`));
    deployments.push(
      rawDeployment(`app${i}`, { replicas: 2, readyReplicas: 2 }),
      rawDeployment(`app${i}-canary`, { annotations: { 'mesh.steerer.io/error-ratio': '0.05' } }),
    );
  }
  store.sink('virtualservices').replace(vss);
  store.sink('services').replace(services);
  store.sink('deployments').replace(deployments);
  const istio = new IstioMetrics({ sourceReporter: true });
  const self = new SelfMetrics();
  const gateway = new Gateway({
    table: () => store.routingTable(),
    clock: realClock,
    istio,
    self,
    overrides: new FaultOverrides(),
  });
  const load = new LoadScheduler({
    clock: realClock,
    log: silentLogger,
    fire: (key, spec) => {
      const req = backgroundRequest(store.routingTable(), key, spec.path);
      return req ? gateway.handle(req) : undefined;
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < vsCount; i++) load.set(`test/vs${i}`, { rps, path: '/' });
  await sleep(realClock, seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const status = load.list();
  load.stop();
  const sent = status.reduce((a, s) => a + s.sent, 0);
  const dropped = status.reduce((a, s) => a + s.dropped, 0);
  const renderStart = performance.now();
  const text = self.render(istio, {
    virtualServices: { valid: vsCount, invalid: 0 },
    loadTargets: [],
  });
  process.stdout.write(
    `${JSON.stringify({
      virtualServices: vsCount,
      targetRps: vsCount * rps,
      achievedRps: Math.round(sent / elapsed),
      dropped,
      cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1e6 / elapsed) * 1000) / 10,
      microsPerRequest: Math.round(((cpu.user + cpu.system) / Math.max(1, sent)) * 10) / 10,
      series: istio.seriesCount(),
      metricsBytes: text.length,
      renderMs: Math.round(performance.now() - renderStart),
    })}\n`,
  );
}

void bench();
