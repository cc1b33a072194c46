// Crash while unwinding: 15 concurrent releases that all end without a promotion — a
// canary that keeps failing (rolled back by the rule), one aborted by request, one whose
// Rollout is deleted mid-release — while the controller is SIGKILLed again and again,
// eagerly while something is rolling back or being deleted. Every release must end where
// its script says; no failing canary may be promoted; and no route may ever give traffic
// to a side that has no ready pods.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resourcePath } from '@steerer/common';
import type { Deployment } from '@steerer/common';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import type { SteererProcess } from './harness.js';
import {
  applyYaml,
  deleteNamespace,
  installCrd,
  kubectl,
  kubectlResult,
  setFault,
  setLoad,
  startController,
  waitFor,
} from './harness.js';
import { canaryWeight, rolloutsPath, testClient, virtualServicesPath, watch } from './watch.js';
import type { RolloutObject, VirtualService, Watched } from './watch.js';

const NS = 'unwind';
const APPS = 15;
const MIN_UNWIND_KILLS = 15;
type Script = 'fails' | 'aborted' | 'deleted';
const scripts: Script[] = ['fails', 'aborted', 'deleted'];
const image = (v: string): string => `quay.io/stefanprodan/podinfo:${v}`;

interface App {
  o: AppOptions;
  script: Script;
  acted: boolean;
}

/** A side of a split given traffic while its Deployment had no ready pod. */
interface Starved {
  app: string;
  side: 'primary' | 'canary';
  weight: number;
  at: string;
}

/** Our watches are separate streams: judge readiness a little after a route changed. */
const WATCH_LAG_MS = 300;

/** Available replicas of a Deployment at an instant, from its watched history. */
function availableAt(history: readonly { at: number; available: number }[], at: number): number {
  let v = 0;
  for (const h of history) if (h.at <= at) v = h.available;
  return v;
}

describe('crash while rolling back, aborting and deleting', () => {
  const apps: App[] = [];
  let controller: SteererProcess | undefined;
  let rollouts: Watched<RolloutObject>;
  let routes: Watched<VirtualService>;
  let deployments: Watched<Deployment>;
  const client = testClient();
  const history = new Map<string, { at: number; available: number }[]>();
  const splits: { app: string; canary: number; at: number }[] = [];

  /** Every split some side got traffic in while its Deployment had no ready pod. */
  function starvedSplits(): Starved[] {
    const out: Starved[] = [];
    for (const s of splits) {
      const at = s.at + WATCH_LAG_MS;
      const sides = [
        ['canary', `${s.app}-canary`, s.canary],
        ['primary', s.app, 100 - s.canary],
      ] as const;
      for (const [side, name, weight] of sides) {
        if (weight > 0 && availableAt(history.get(name) ?? [], at) === 0)
          out.push({ app: s.app, side, weight, at: new Date(s.at).toISOString() });
      }
    }
    return out;
  }

  beforeAll(async () => {
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    for (let i = 0; i < APPS; i++) {
      apps.push({
        o: {
          namespace: NS,
          name: `app${i}`,
          image: image('1.0.0'),
          stepWeight: 20,
          interval: '10s',
        },
        script: scripts[i % scripts.length] as Script,
        acted: false,
      });
    }
    await applyYaml(apps.map((a) => appManifests(a.o)).join('---\n'));
    await applyYaml(apps.map((a) => rolloutManifest(a.o)).join('---\n'));
    for (const a of apps) await setLoad(NS, a.o.name, 20);
    deployments = await watch<Deployment>(
      client,
      resourcePath({ group: 'apps', version: 'v1', plural: 'deployments', namespace: NS }),
      (d, _old, event) => {
        const h = history.get(d.metadata.name) ?? [];
        h.push({
          at: Date.now(),
          available: event === 'delete' ? 0 : (d.status?.availableReplicas ?? 0),
        });
        history.set(d.metadata.name, h);
      },
    );
    for (const d of deployments.informer.list())
      history.set(d.metadata.name, [{ at: 0, available: d.status?.availableReplicas ?? 0 }]);
    rollouts = await watch<RolloutObject>(client, rolloutsPath(NS));
    routes = await watch<VirtualService>(client, virtualServicesPath(NS), (vs, old) => {
      const name = vs.metadata.name;
      const weight = canaryWeight(vs, name, `${name}-canary`);
      if (!old || weight === undefined) return;
      if (weight !== canaryWeight(old, name, `${name}-canary`))
        splits.push({ app: name, canary: weight, at: Date.now() });
    });
  });

  afterAll(async () => {
    await controller?.stop();
    for (const w of [routes, rollouts, deployments]) w?.stop();
    for (const a of apps) {
      await setLoad(NS, a.o.name, 0).catch(() => undefined);
      await setFault(NS, `${a.o.name}-canary`, null).catch(() => undefined);
    }
    client.close();
  });

  const rollout = (a: App): RolloutObject | undefined => rollouts.informer.get(`${NS}/${a.o.name}`);
  const start = (): SteererProcess =>
    startController([
      '--control-loop-interval=2s',
      '--analysis-interval=1s',
      '--route-settle-time=2s',
      `--namespace=${NS}`,
      '--log-level=info',
    ]);

  /** The scripted act, once the release has reached weight 40. */
  async function act(a: App): Promise<void> {
    a.acted = true;
    if (a.script === 'fails') await setFault(NS, `${a.o.name}-canary`, { errorRatio: 1 });
    else if (a.script === 'aborted')
      await kubectl(['annotate', 'rollout', '-n', NS, a.o.name, 'steerer.io/request=abort']);
    else await kubectl(['delete', 'rollout', '-n', NS, a.o.name, '--wait=false']);
  }

  function finished(a: App): boolean {
    const r = rollout(a);
    if (a.script === 'deleted') return a.acted && r === undefined;
    return a.acted && r?.status?.phase === 'Failed';
  }

  /** What each release must look like at the end; an empty list when it does. */
  function problemsOf(a: App): string[] {
    const problems: string[] = [];
    const r = rollout(a);
    const want = { fails: 'RolledBack', aborted: 'Aborted', deleted: undefined }[a.script];
    if (want && r?.status?.failureReason !== want)
      problems.push(`${a.o.name}: failureReason ${r?.status?.failureReason}, expected ${want}`);
    const vs = routes.informer.get(`${NS}/${a.o.name}`);
    const weight = vs ? canaryWeight(vs, a.o.name, `${a.o.name}-canary`) : undefined;
    if (weight !== 0) problems.push(`${a.o.name}: canary weight ${weight}`);
    const canary = deployments.informer.get(`${NS}/${a.o.name}-canary`);
    if (canary?.spec.replicas !== 0)
      problems.push(`${a.o.name}: canary has ${canary?.spec.replicas} replicas`);
    const primary = deployments.informer.get(`${NS}/${a.o.name}`);
    const img = (primary?.spec.template.spec?.containers as { image: string }[] | undefined)?.[0]
      ?.image;
    if (img !== image('1.0.0')) problems.push(`${a.o.name}: the primary was promoted to ${img}`);
    return problems;
  }

  /** Acts on each release at weight 40 and kills the controller until every release ended. */
  async function runRound(kills: { all: number; unwinding: number }): Promise<void> {
    // Each controller lives a random time after its caches synced (on a loaded machine
    // starting alone can take seconds, and a controller killed before it could act proves
    // nothing): 1.5–4.5 s, or 0.4–1.6 s while a release is rolling back or being deleted.
    let syncedAt: number | undefined;
    let lifeMs = 2000;
    let unwindLifeMs = 1000;
    const deadline = Date.now() + 240_000;
    for (;;) {
      const now = Date.now();
      for (const a of apps)
        if (!a.acted && (rollout(a)?.status?.canaryWeight ?? 0) >= 40) await act(a);
      if (apps.every(finished)) return;
      if (now > deadline) {
        const states = apps.map((a) => `${a.o.name}=${rollout(a)?.status?.phase ?? 'gone'}`);
        throw new Error(
          `not finished after ${kills.all} kills (${kills.unwinding} unwinding): ${states.join(' ')}`,
        );
      }
      const unwinding = apps.some((a) => {
        const r = rollout(a);
        return r?.status?.phase === 'RollingBack' || r?.metadata.deletionTimestamp !== undefined;
      });
      if (syncedAt === undefined && controller?.output().includes('caches synced')) syncedAt = now;
      const life = unwinding ? Math.min(lifeMs, unwindLifeMs) : lifeMs;
      if (syncedAt !== undefined && now - syncedAt > life) {
        if (unwinding) kills.unwinding++;
        await controller?.kill();
        kills.all++;
        controller = start();
        syncedAt = undefined;
        lifeMs = 1500 + Math.random() * 3000;
        unwindLifeMs = 400 + Math.random() * 1200;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it(`ends every release as scripted through at least ${MIN_UNWIND_KILLS} SIGKILLs while unwinding`, async () => {
    controller = start();
    await waitFor(
      'all Initialized',
      () => apps.every((a) => rollout(a)?.status?.phase === 'Initialized'),
      60_000,
    );
    const kills = { all: 0, unwinding: 0 };
    // Rounds of releases until enough kills have landed while unwinding: each round ships a
    // new revision to every app (re-creating the deleted Rollouts) and acts again.
    for (let round = 0; kills.unwinding < MIN_UNWIND_KILLS; round++) {
      if (round >= 4) throw new Error(`only ${kills.unwinding} kills landed while unwinding`);
      if (round > 0) {
        await applyYaml(
          apps
            .filter((a) => a.script === 'deleted')
            .map((a) => rolloutManifest(a.o))
            .join('---\n'),
        );
        for (const a of apps) {
          a.acted = false;
          if (a.script === 'fails') await setFault(NS, `${a.o.name}-canary`, null);
        }
      }
      await applyYaml(
        apps.map((a) => canaryDeployment(a.o, image(`${round + 2}.0.0`))).join('---\n'),
      );
      await runRound(kills);
    }
    // Every deleted Rollout is gone for good (its finalizer was removed, not left behind).
    for (const a of apps.filter((x) => x.script === 'deleted')) {
      const r = await kubectlResult(['get', 'rollout', '-n', NS, a.o.name]);
      expect(r.code).not.toBe(0);
    }
    const problems = apps.flatMap(problemsOf);
    const starved = starvedSplits();
    console.log(
      `crash while unwinding: ${APPS} releases a round (rolled back, aborted, deleted), ${kills.all} SIGKILLs (${kills.unwinding} while rolling back or deleting), ` +
        `${splits.length} route changes checked; traffic to a side without ready pods: ${starved.length}; problems: ${problems.length}`,
    );
    expect(problems).toEqual([]);
    expect(starved).toEqual([]);
    expect(kills.unwinding).toBeGreaterThanOrEqual(MIN_UNWIND_KILLS);
  });
});
