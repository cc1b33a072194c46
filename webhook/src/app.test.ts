import { describe, expect, it } from '@jest/globals';
import jsonpatch from 'jsonpatch';
import request from 'supertest';
import { ANNOTATIONS, MemoryLogger, templateRevision } from '@steerer/common';
import type { PodTemplate, RolloutObject } from '@steerer/common';
import type { AdmissionReviewResponse, JsonMap } from './admission.js';
import { createApp } from './app.js';
import type { AppDeps } from './app.js';
import type { Lookup } from './lookup.js';
import { WebhookMetrics } from './metrics.js';
import {
  KINDS,
  admissionReview,
  canaryDeployment,
  rollout,
  seedLookup,
  virtualService,
} from './testing.js';

const NOW = new Date('2026-03-01T12:00:00Z');

function setup(o: Partial<AppDeps> & { lookup?: Lookup } = {}) {
  const metrics = o.metrics ?? new WebhookMetrics({ defaultMetrics: false });
  const logger = new MemoryLogger();
  const app = createApp({
    lookup: seedLookup('Succeeded'),
    metrics,
    logger,
    readiness: () => [],
    now: () => NOW,
    ...o,
  });
  return { app, metrics, logger };
}

async function counter(metrics: WebhookMetrics, labels: Record<string, string>): Promise<number> {
  const m = await metrics.requests.get();
  return (
    m.values.find((v) =>
      Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val),
    )?.value ?? 0
  );
}

function decodePatch(body: AdmissionReviewResponse): unknown[] {
  return JSON.parse(Buffer.from(body.response.patch ?? '', 'base64').toString('utf8')) as unknown[];
}

describe('probes', () => {
  it('/healthz is always ok', async () => {
    await request(setup().app).get('/healthz').expect(200, 'ok\n');
  });

  it('/readyz says why it is not ready', async () => {
    const { app } = setup({
      readiness: () => ['the Rollout cache has not synced', 'no serving certificate yet'],
    });
    const res = await request(app).get('/readyz').expect(503);
    expect(res.text).toBe(
      'not ready: the Rollout cache has not synced; no serving certificate yet\n',
    );
    await request(setup().app).get('/readyz').expect(200, 'ok\n');
  });

  it('/metrics exposes the webhook registry, default process metrics included', async () => {
    const { app } = setup({ metrics: new WebhookMetrics() });
    const res = await request(app).get('/metrics').expect(200);
    expect(res.text).toContain('# TYPE steerer_webhook_requests_total counter');
    expect(res.text).toContain('steerer_webhook_request_duration_seconds');
    expect(res.text).toContain('steerer_webhook_process_cpu_seconds_total');
  });

  it('unknown paths are 404', async () => {
    await request(setup().app).get('/nope').expect(404);
  });

  it('the probes-only app serves no admission', async () => {
    const { app } = setup({ probesOnly: true });
    await request(app).get('/readyz').expect(200);
    await request(app)
      .post('/validate/rollouts')
      .send(admissionReview({ kind: KINDS.rollout, operation: 'CREATE', object: rollout() }))
      .expect(404);
  });
});

describe('POST /mutate/deployments', () => {
  it('stamps a new revision; the patch applies cleanly to the object sent; uid echoed; counted', async () => {
    const { app, metrics, logger } = setup();
    const object = canaryDeployment({ image: 'podinfo:9' });
    const body = admissionReview({
      kind: KINDS.deployment,
      operation: 'UPDATE',
      object,
      oldObject: canaryDeployment(),
      uid: 'abc-123',
    });
    const res = await request(app)
      .post('/mutate/deployments')
      .send(body)
      .expect(200)
      .expect('content-type', /json/);
    const review = res.body as AdmissionReviewResponse;
    expect(review).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'abc-123', allowed: true, patchType: 'JSONPatch' },
    });
    const out = jsonpatch.apply_patch(object, decodePatch(review)) as {
      metadata: { annotations: Record<string, string> };
    };
    expect(out.metadata.annotations[ANNOTATIONS.revision]).toBe(
      templateRevision((object.spec as { template: PodTemplate }).template),
    );
    expect(out.metadata.annotations[ANNOTATIONS.revisionTime]).toBe('2026-03-01T12:00:00Z');
    expect(
      await counter(metrics, { kind: 'Deployment', operation: 'UPDATE', result: 'patched' }),
    ).toBe(1);
    expect(
      (await metrics.duration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value,
    ).toBe(1);
    expect(logger.entries.some((e) => e.message === 'patched' && e.fields.uid === 'abc-123')).toBe(
      true,
    );
  });

  it('keeps an idle canary at zero with a warning', async () => {
    const object = canaryDeployment({ replicas: 1 });
    const body = admissionReview({
      kind: KINDS.deployment,
      operation: 'UPDATE',
      object,
      oldObject: canaryDeployment({ replicas: 0 }),
    });
    const res = await request(setup().app).post('/mutate/deployments').send(body).expect(200);
    const review = res.body as AdmissionReviewResponse;
    expect(
      (jsonpatch.apply_patch(object, decodePatch(review)) as { spec: { replicas: number } }).spec
        .replicas,
    ).toBe(0);
    expect(review.response.warnings?.[0]).toContain('stays at 0 replicas');
  });

  it('accepts application/json with a charset', async () => {
    const body = JSON.stringify(
      admissionReview({
        kind: KINDS.deployment,
        operation: 'UPDATE',
        object: canaryDeployment(),
        oldObject: canaryDeployment(),
        uid: 'c',
      }),
    );
    const res = await request(setup().app)
      .post('/mutate/deployments')
      .set('content-type', 'application/json; charset=utf-8')
      .send(body)
      .expect(200);
    expect((res.body as AdmissionReviewResponse).response).toEqual({ uid: 'c', allowed: true });
  });
});

describe('POST /validate/rollouts', () => {
  it('denies a second Rollout claiming the same canary', async () => {
    const { app, metrics } = setup();
    const second = rollout({ name: 'second', spec: { primary: { name: 'p2', host: 'p2' } } });
    const res = await request(app)
      .post('/validate/rollouts')
      .send(
        admissionReview({ kind: KINDS.rollout, operation: 'CREATE', object: second, uid: 'r-1' }),
      )
      .expect(200);
    const review = res.body as AdmissionReviewResponse;
    expect(review.response).toMatchObject({ uid: 'r-1', allowed: false, status: { code: 409 } });
    expect(review.response.status?.message).toContain('Rollout test/podinfo');
    expect(await counter(metrics, { kind: 'Rollout', operation: 'CREATE', result: 'denied' })).toBe(
      1,
    );
  });

  it('denies a VirtualService lacking the canary route', async () => {
    const lookup = seedLookup().add(virtualService('podinfo', ['podinfo']));
    const res = await request(setup({ lookup }).app)
      .post('/validate/rollouts')
      .send(admissionReview({ kind: KINDS.rollout, operation: 'CREATE', object: rollout() }))
      .expect(200);
    expect((res.body as AdmissionReviewResponse).response.status?.message).toContain(
      'has no route to podinfo-canary',
    );
  });

  it('admits with warnings what does not exist yet', async () => {
    const lookup = seedLookup();
    lookup.routes.clear();
    const res = await request(setup({ lookup }).app)
      .post('/validate/rollouts')
      .send(admissionReview({ kind: KINDS.rollout, operation: 'CREATE', object: rollout() }))
      .expect(200);
    expect((res.body as AdmissionReviewResponse).response).toMatchObject({
      allowed: true,
      warnings: ['VirtualService test/podinfo does not exist yet; the rollout waits for it'],
    });
  });

  it('denies invalid specs', async () => {
    const bad = rollout({ spec: { virtualService: { name: 'podinfo', weight: 0 } } });
    const res = await request(setup().app)
      .post('/validate/rollouts')
      .send(admissionReview({ kind: KINDS.rollout, operation: 'CREATE', object: bad }))
      .expect(200);
    expect((res.body as AdmissionReviewResponse).response.status?.message).toBe(
      'Rollout test/podinfo is invalid: spec.virtualService.weight: must be between 1 and 100, got 0',
    );
  });
});

describe('POST /validate/virtualservices', () => {
  it('denies removing the canary destination during a release', async () => {
    const lookup = seedLookup('Progressing');
    const body = admissionReview({
      kind: KINDS.virtualService,
      operation: 'UPDATE',
      object: virtualService('podinfo', ['podinfo']),
      oldObject: virtualService(),
    });
    const res = await request(setup({ lookup }).app)
      .post('/validate/virtualservices')
      .send(body)
      .expect(200);
    expect((res.body as AdmissionReviewResponse).response.status?.message).toContain(
      'Rollout test/podinfo is releasing (Progressing)',
    );
  });

  it.each(['v1', 'v1beta1', 'v1alpha3'])('admits networking.istio.io/%s', async (version) => {
    const body = admissionReview({
      kind: { ...KINDS.virtualService, version },
      operation: 'UPDATE',
      object: virtualService(),
      oldObject: virtualService(),
    });
    await request(setup().app).post('/validate/virtualservices').send(body).expect(200);
  });
});

describe('bad requests', () => {
  const cases: [string, string, (r: request.Test) => request.Test, RegExp][] = [
    [
      'malformed JSON',
      '/mutate/deployments',
      (r) => r.set('content-type', 'application/json').send('{"apiVersion": '),
      /^malformed JSON: /,
    ],
    [
      'a JSON scalar',
      '/mutate/deployments',
      (r) => r.set('content-type', 'application/json').send('"x"'),
      /^malformed JSON/,
    ],
    [
      'no JSON content type',
      '/validate/rollouts',
      (r) => r.set('content-type', 'text/plain').send('hello'),
      /expected a JSON body \(Content-Type: application\/json\), got text\/plain/,
    ],
    [
      'not an AdmissionReview',
      '/validate/rollouts',
      (r) => r.send({ hello: 'world' }),
      /kind must be AdmissionReview/,
    ],
    [
      'admission.k8s.io/v1beta1',
      '/validate/rollouts',
      (r) =>
        r.send({
          ...admissionReview({ kind: KINDS.rollout, operation: 'CREATE', object: rollout() }),
          apiVersion: 'admission.k8s.io/v1beta1',
        }),
      /apiVersion must be admission.k8s.io\/v1/,
    ],
    [
      'another kind',
      '/mutate/deployments',
      (r) =>
        r.send(admissionReview({ kind: KINDS.rollout, operation: 'CREATE', object: rollout() })),
      /\/mutate\/deployments admits apps\/v1 Deployment, got apps.weave.works\/v1beta1 Rollout/,
    ],
    [
      'an unknown version',
      '/validate/virtualservices',
      (r) =>
        r.send(
          admissionReview({
            kind: { ...KINDS.virtualService, version: 'v2' },
            operation: 'UPDATE',
            object: {},
            oldObject: {},
          }),
        ),
      /admits networking.istio.io\/v1\|v1beta1\|v1alpha3 VirtualService, got networking.istio.io\/v2 VirtualService/,
    ],
    [
      'a request without uid',
      '/mutate/deployments',
      (r) =>
        r.send({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { kind: KINDS.deployment, operation: 'UPDATE' },
        }),
      /request.uid/,
    ],
  ];

  it.each(cases)('%s → 400 with a reason', async (_what, path, send, reason) => {
    const { app, metrics } = setup();
    const res = await send(request(app).post(path)).expect(400);
    expect(res.body).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect((res.body as { message: string }).message).toMatch(reason);
    const kind =
      path === '/mutate/deployments'
        ? 'Deployment'
        : path === '/validate/rollouts'
          ? 'Rollout'
          : 'VirtualService';
    expect(await counter(metrics, { kind, result: 'bad_request' })).toBe(1);
  });

  it('a body over the limit → 413', async () => {
    const { app, metrics } = setup({ maxBodyBytes: 2048 });
    const big = admissionReview({
      kind: KINDS.deployment,
      operation: 'UPDATE',
      object: { ...canaryDeployment(), pad: 'x'.repeat(4096) },
      oldObject: canaryDeployment(),
    });
    const res = await request(app).post('/mutate/deployments').send(big).expect(413);
    expect(res.body).toMatchObject({
      code: 413,
      reason: 'RequestEntityTooLarge',
      message: 'the body exceeds 2048 bytes',
    });
    expect(await counter(metrics, { kind: 'Deployment', result: 'too_large' })).toBe(1);
  });

  it('a failing lookup → 500 without crashing, and the next request still works', async () => {
    const lookup = seedLookup('Progressing');
    lookup.rollouts = (): Promise<readonly RolloutObject[]> =>
      Promise.reject(new Error('cache exploded'));
    const { app, metrics, logger } = setup({ lookup });
    const body = (uid: string): JsonMap =>
      admissionReview({
        kind: KINDS.virtualService,
        operation: 'UPDATE',
        object: virtualService(),
        oldObject: virtualService(),
        uid,
      });
    const res = await request(app).post('/validate/virtualservices').send(body('x')).expect(500);
    expect((res.body as { message: string }).message).toContain('cache exploded');
    expect(await counter(metrics, { kind: 'VirtualService', result: 'error' })).toBe(1);
    expect(logger.entries.some((e) => e.level === 'error')).toBe(true);
    await request(app)
      .post('/mutate/deployments')
      .send(
        admissionReview({
          kind: KINDS.deployment,
          operation: 'UPDATE',
          object: canaryDeployment(),
          oldObject: canaryDeployment(),
        }),
      )
      .expect(200);
  });
});
