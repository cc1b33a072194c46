// Crash anywhere: 20 concurrent rollouts (good ones, ones that fail mid-way and recover,
// ones bumped again mid-rollout) while the controller is SIGKILLed at random moments and
// restarted. Every rollout must end where its script says, no failing canary may ever be
// advanced, and nothing may be left half-done.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sameTemplate, promotedTemplate } from '@steerer/common';
import type { Deployment } from '@steerer/common';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import type { SteererProcess } from './harness.js';
import {
  applyYaml,
  deleteNamespace,
  installCrd,
  kubectlJson,
  promQuery,
  setFault,
  setLoad,
  startController,
  waitFor,
} from './harness.js';
import { canaryWeight, rolloutsPath, testClient, virtualServicesPath, watch } from './watch.js';
import type { RolloutObject, VirtualService, Watched } from './watch.js';

const NS = 'crash';
const APPS = 20;
const MIN_KILLS = 15;
type Script = 'good' | 'fails-then-recovers' | 'bumped-again';
interface App {
  o: AppOptions;
  script: Script;
  finalImage: string;
  faults: { from: number; to: number | undefined }[];
  steps: { at: number; from: number; to: number }[];
  bumpedAgain: boolean;
  faultDone: boolean;
}

const image = (v: string): string => `quay.io/stefanprodan/podinfo:${v}`;
const scripts: Script[] = ['good', 'fails-then-recovers', 'bumped-again'];

describe('crash anywhere', () => {
  const apps: App[] = [];
  let controller: SteererProcess | undefined;
  let rollouts: Watched<RolloutObject>;
  let routes: Watched<VirtualService>;
  /** When a Rollout last turned Finalising (epoch ms). */
  let finalisingAt = 0;
  const client = testClient();

  beforeAll(async () => {
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    for (let i = 0; i < APPS; i++) {
      const script = scripts[i % scripts.length] as Script;
      const o: AppOptions = {
        namespace: NS,
        name: `app${i}`,
        image: image('1.0.0'),
        stepWeight: 20,
        interval: '30s',
      };
      apps.push({
        o,
        script,
        finalImage: script === 'bumped-again' ? image('3.0.0') : image('2.0.0'),
        faults: [],
        steps: [],
        bumpedAgain: false,
        faultDone: false,
      });
    }
    await applyYaml(apps.map((a) => appManifests(a.o)).join('---\n'));
    await applyYaml(apps.map((a) => rolloutManifest(a.o)).join('---\n'));
    for (const a of apps) await setLoad(NS, a.o.name, 20);
    routes = await watch<VirtualService>(client, virtualServicesPath(NS), (vs, old) => {
      const app = apps.find((a) => a.o.name === vs.metadata.name);
      if (!app || !old) return;
      const from = canaryWeight(old, app.o.name, `${app.o.name}-canary`) ?? 0;
      const to = canaryWeight(vs, app.o.name, `${app.o.name}-canary`) ?? 0;
      if (to > from) app.steps.push({ at: Date.now(), from, to });
    });
    rollouts = await watch<RolloutObject>(client, rolloutsPath(NS), (r, old) => {
      // Finalising (routes back, canary scaled down) can last a single reconcile: note
      // when it was written so the loop below can kill the controller in the middle of it.
      if (r.status?.phase === 'Finalising' && old?.status?.phase !== 'Finalising')
        finalisingAt = Date.now();
    });
  });

  afterAll(async () => {
    await controller?.stop();
    routes?.stop();
    rollouts?.stop();
    for (const a of apps) {
      await setLoad(NS, a.o.name, 0).catch(() => undefined);
      await setFault(NS, `${a.o.name}-canary`, null).catch(() => undefined);
    }
    client.close();
  });

  const phaseOf = (a: App): string | undefined =>
    rollouts.informer.get(`${NS}/${a.o.name}`)?.status?.phase;
  const weightOf = (a: App): number =>
    rollouts.informer.get(`${NS}/${a.o.name}`)?.status?.canaryWeight ?? 0;
  const start = (): SteererProcess =>
    startController(['--control-loop-interval=3s', '--analysis-interval=1s', '--log-level=info']);

  it('carries every rollout to its scripted end through at least 15 SIGKILLs', async () => {
    controller = start();
    await waitFor(
      'all rollouts Initialized',
      () => apps.every((a) => phaseOf(a) === 'Initialized'),
      60_000,
    );
    await applyYaml(apps.map((a) => canaryDeployment(a.o, image('2.0.0'))).join('---\n'));

    let kills = 0;
    let killsInPromotion = 0;
    let killsInScaleDown = 0;
    let killsInAnalysis = 0;
    let lastKill = Date.now();
    let nextKillIn = 2000;
    const deadline = Date.now() + 420_000;
    for (;;) {
      const now = Date.now();
      // Scripted events per app.
      for (const a of apps) {
        const w = weightOf(a);
        if (a.script === 'fails-then-recovers' && !a.faultDone) {
          const open = a.faults.at(-1);
          if (!open && w >= 40 && phaseOf(a) === 'Progressing') {
            // The fault counts from when the simulator has it, not from the top of this
            // loop (kubectl calls for other apps may have taken seconds since).
            await setFault(NS, `${a.o.name}-canary`, { errorRatio: 0.5 });
            a.faults.push({ from: Date.now(), to: undefined });
          } else if (open && open.to === undefined && Date.now() - open.from > 15_000) {
            open.to = Date.now();
            a.faultDone = true;
            await setFault(NS, `${a.o.name}-canary`, null);
          }
        }
        if (a.script === 'bumped-again' && !a.bumpedAgain && w >= 40) {
          a.bumpedAgain = true;
          await applyYaml(canaryDeployment(a.o, image('3.0.0')));
        }
      }
      const phases = apps.map(phaseOf);
      const done =
        apps.every((a) => a.script !== 'bumped-again' || a.bumpedAgain) &&
        apps.every((a) => a.script !== 'fails-then-recovers' || a.faultDone) &&
        phases.every((p) => p === 'Succeeded');
      if (done && kills >= MIN_KILLS) break;
      if (now > deadline) {
        throw new Error(
          `not finished after ${kills} kills: ${apps.map((a) => `${a.o.name}=${phaseOf(a)}@${weightOf(a)}`).join(' ')}`,
        );
      }
      // Kill at random moments, and eagerly while something is being promoted (the
      // primary takes the canary's template) or scaled down (routes back, canary to 0).
      const promoting = phases.some((p) => p === 'Promoting');
      const scalingDown = phases.some((p) => p === 'Finalising') || now - finalisingAt < 1000;
      if (
        now - lastKill > nextKillIn ||
        (promoting && now - lastKill > 1500 && killsInPromotion < 5) ||
        (scalingDown && now - lastKill > 1000 && killsInScaleDown < 4)
      ) {
        if (promoting) killsInPromotion++;
        if (scalingDown) killsInScaleDown++;
        if (phases.some((p) => p === 'Halted')) killsInAnalysis++;
        await controller.kill();
        kills++;
        controller = start();
        lastKill = Date.now();
        nextKillIn = 1500 + Math.random() * 4000;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // Invariants at the end.
    let violations = 0;
    const problems: string[] = [];
    for (const a of apps) {
      const vs = routes.informer.get(`${NS}/${a.o.name}`);
      const r = rollouts.informer.get(`${NS}/${a.o.name}`);
      const primary = await kubectlJson<Deployment>(['get', 'deployment', '-n', NS, a.o.name]);
      const canary = await kubectlJson<Deployment>([
        'get',
        'deployment',
        '-n',
        NS,
        `${a.o.name}-canary`,
      ]);
      const weight = vs ? canaryWeight(vs, a.o.name, `${a.o.name}-canary`) : undefined;
      const wanted = promotedTemplate(
        canary.spec.template,
        primary.spec.template,
        primary.spec.selector,
        canary.spec.selector,
      );
      const image0 = (
        primary.spec.template.spec?.containers as { image: string }[] | undefined
      )?.[0]?.image;
      if (r?.status?.phase !== 'Succeeded') problems.push(`${a.o.name}: phase ${r?.status?.phase}`);
      if (weight !== 0) problems.push(`${a.o.name}: canary weight ${weight}`);
      if (canary.spec.replicas !== 0)
        problems.push(`${a.o.name}: canary has ${canary.spec.replicas} replicas`);
      if (image0 !== a.finalImage)
        problems.push(`${a.o.name}: primary runs ${image0}, expected ${a.finalImage}`);
      if (!sameTemplate(wanted, primary.spec.template))
        problems.push(`${a.o.name}: primary template differs from the promoted canary`);
      // No advance while the canary was measurably failing: for every step after the
      // first, Prometheus two seconds before the step, over the rollout's 30s window,
      // must show a passing success rate.
      for (const s of a.steps.filter((x) => x.from > 0)) {
        const q = `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="${a.o.name}-canary",response_code!~"5.."}[30s])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="${a.o.name}-canary"}[30s])) * 100`;
        // The controller used a sample between these two instants; a failing rate at
        // both (rates move monotonically over two seconds here) means it saw one too.
        const rates: number[] = [];
        for (const at of [(s.at - 2000) / 1000, s.at / 1000]) {
          const res = await promQuery(q, at);
          rates.push(res[0] ? Number(res[0].value[1]) : Number.NaN);
        }
        const v = Math.max(...rates.map((x) => (Number.isFinite(x) ? x : 100)));
        // A step inside a fault is a violation once the errors were measurable: a second
        // before the step Prometheus held two samples of the canary's 5xx series taken
        // since the fault began (one sample is no rate, for the controller or anyone).
        let inFault = false;
        for (const f of a.faults) {
          if (s.at <= f.from + 3000 || s.at >= (f.to ?? Infinity)) continue;
          const lookback = Math.max(1, Math.floor((s.at - 1000 - f.from) / 1000));
          const seen = await promQuery(
            `count_over_time(istio_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="${a.o.name}-canary",response_code=~"5.."}[${lookback}s])`,
            (s.at - 1000) / 1000,
          );
          if (seen.some((x) => Number(x.value[1]) >= 2)) inFault = true;
          else
            console.log(
              `${a.o.name}: step ${s.from}→${s.to} in its fault before Prometheus had its errors`,
            );
        }
        if (v < 99 || inFault) {
          violations++;
          problems.push(
            `${a.o.name}: stepped ${s.from}→${s.to} at ${new Date(s.at).toISOString()} with success rate ${v.toFixed(2)}%${inFault ? ' during its fault' : ''}`,
          );
        }
      }
    }
    const steps = apps.reduce((n, a) => n + a.steps.length, 0);
    console.log(
      `crash anywhere: ${APPS} rollouts, ${kills} SIGKILLs survived (${killsInPromotion} while promoting, ${killsInScaleDown} while scaling down, ${killsInAnalysis} while halted), ` +
        `${steps} weight steps checked, violations: ${violations}, problems: ${problems.length}`,
    );
    expect(problems).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(killsInPromotion).toBeGreaterThan(0);
    expect(killsInScaleDown).toBeGreaterThan(0);
  });
});
