import { describe, expect, it } from '@jest/globals';
import jsonpatch from 'jsonpatch';
import { ANNOTATIONS, LABELS, templateRevision } from '@steerer/common';
import type { Phase, PodTemplate } from '@steerer/common';
import { parseAdmissionReview } from './admission.js';
import type { AdmissionRequest, AdmissionResponse, JsonMap } from './admission.js';
import { deploymentFacts, mutateDeployment } from './mutate-deployment.js';
import {
  KINDS,
  NS,
  SCALED_DOWN,
  StaticLookup,
  admissionReview,
  canaryDeployment,
  rollout,
} from './testing.js';

const NOW = new Date('2026-03-01T12:34:56.789Z');

function request(oldObject: JsonMap, object: JsonMap, options?: JsonMap): AdmissionRequest {
  const parsed = parseAdmissionReview(
    admissionReview({
      kind: KINDS.deployment,
      operation: 'UPDATE',
      object,
      oldObject,
      ...(options ? { options } : {}),
    }),
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

/** `phase` null: no Rollout in the cache. */
function mutate(
  oldObject: JsonMap,
  object: JsonMap,
  phase: Phase | null = 'Succeeded',
  options?: JsonMap,
) {
  const req = request(oldObject, object, options);
  return mutateDeployment(req, { rollout: phase ? rollout({ phase }) : undefined }, NOW);
}

function ops(res: AdmissionResponse): { op: string; path: string; value?: unknown }[] {
  expect(res.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(res.patch ?? '', 'base64').toString('utf8')) as {
    op: string;
    path: string;
    value?: unknown;
  }[];
}

/** Applies the response's patch to the object the API server would patch. */
function patched(object: JsonMap, res: AdmissionResponse): JsonMap {
  return jsonpatch.apply_patch(object, ops(res));
}

const meta = (o: JsonMap): { annotations?: Record<string, string> } =>
  o.metadata as { annotations?: Record<string, string> };
const replicasOf = (o: JsonMap): unknown => (o.spec as { replicas?: unknown }).replicas;
const templateOf = (o: JsonMap): PodTemplate => (o.spec as { template: PodTemplate }).template;

describe('mutateDeployment: pod template changed', () => {
  it('stamps the revision and time, keeping the other annotations', () => {
    const old = canaryDeployment({ image: 'podinfo:1.2.0' });
    const next = canaryDeployment({ image: 'podinfo:1.3.0' });
    const { response, note } = mutate(old, next);
    expect(response.allowed).toBe(true);
    const out = patched(next, response);
    expect(meta(out).annotations).toEqual({
      'deployment.kubernetes.io/revision': '1',
      [ANNOTATIONS.revision]: templateRevision(templateOf(next)),
      [ANNOTATIONS.revisionTime]: '2026-03-01T12:34:56Z',
    });
    expect(replicasOf(out)).toBe(1);
    expect(note).toContain('new revision');
  });

  it('escapes "/" in annotation keys as ~1', () => {
    const res = mutate(canaryDeployment({ image: 'a' }), canaryDeployment({ image: 'b' })).response;
    expect(ops(res).map((o) => o.path)).toEqual([
      '/metadata/annotations/steerer.io~1revision',
      '/metadata/annotations/steerer.io~1revision-time',
    ]);
  });

  it('adds the whole annotation map when metadata.annotations is absent', () => {
    const next = canaryDeployment({ image: 'b', annotations: null });
    const res = mutate(canaryDeployment({ image: 'a', annotations: null }), next).response;
    expect(ops(res)[0]).toMatchObject({ op: 'add', path: '/metadata/annotations' });
    expect(Object.keys(meta(patched(next, res)).annotations ?? {})).toEqual([
      ANNOTATIONS.revision,
      ANNOTATIONS.revisionTime,
    ]);
  });

  it('replaces a stale revision annotation', () => {
    const stale = {
      [ANNOTATIONS.revision]: 'aaaaaaaaaa',
      [ANNOTATIONS.revisionTime]: '2020-01-01T00:00:00Z',
    };
    const next = canaryDeployment({ image: 'b', annotations: stale });
    const res = mutate(canaryDeployment({ image: 'a', annotations: stale }), next).response;
    expect(ops(res).map((o) => o.op)).toEqual(['replace', 'replace']);
    expect(meta(patched(next, res)).annotations?.[ANNOTATIONS.revision]).toBe(
      templateRevision(templateOf(next)),
    );
  });

  it('starts a canary Steerer scaled to zero when the new object also has 0 (kubectl set image)', () => {
    const old = canaryDeployment({ image: 'a', replicas: 0, annotations: SCALED_DOWN });
    const next = canaryDeployment({ image: 'b', replicas: 0, annotations: SCALED_DOWN });
    const { response, note } = mutate(old, next);
    expect(replicasOf(patched(next, response))).toBe(3);
    expect(note).toContain('scaled up from 0 to 3');
  });

  it('starts it with 1 replica when the scaled-down-from annotation is missing or bad', () => {
    const cases: Record<string, string>[] = [
      {},
      { [ANNOTATIONS.scaledDownFrom]: 'lots' },
      { [ANNOTATIONS.scaledDownFrom]: '0' },
    ];
    for (const annotations of cases) {
      const next = canaryDeployment({ image: 'b', replicas: 0, annotations });
      const res = mutate(canaryDeployment({ image: 'a', replicas: 0, annotations }), next).response;
      expect(replicasOf(patched(next, res))).toBe(1);
    }
  });

  it('keeps the replicas a kubectl apply brings (> 0)', () => {
    const next = canaryDeployment({ image: 'b', replicas: 2, annotations: SCALED_DOWN });
    const res = mutate(
      canaryDeployment({ image: 'a', replicas: 0, annotations: SCALED_DOWN }),
      next,
    ).response;
    expect(ops(res).some((o) => o.path === '/spec/replicas')).toBe(false);
    expect(replicasOf(patched(next, res))).toBe(2);
  });

  it('stamps but leaves replicas alone when the Rollout is not known', () => {
    const next = canaryDeployment({ image: 'b', replicas: 0 });
    const res = mutate(canaryDeployment({ image: 'a', replicas: 0 }), next, null).response;
    expect(replicasOf(patched(next, res))).toBe(0);
    expect(meta(patched(next, res)).annotations?.[ANNOTATIONS.revision]).toBeDefined();
  });

  it('leaves replicas alone when the Rollout no longer names this Deployment as its canary', () => {
    const req = request(
      canaryDeployment({ image: 'a', replicas: 0 }),
      canaryDeployment({ image: 'b', replicas: 0 }),
    );
    const other = rollout({
      phase: 'Succeeded',
      spec: { canary: { name: 'other-canary', host: 'other-canary' } },
    });
    const res = mutateDeployment(req, { rollout: other }, NOW).response;
    expect(ops(res).some((o) => o.path === '/spec/replicas')).toBe(false);
  });

  it('adds spec.replicas when absent', () => {
    const next = canaryDeployment({ image: 'b', replicas: null });
    // The API server defaults replicas, so only a template change reaches this; absent means 1.
    const res = mutate(canaryDeployment({ image: 'a', replicas: null }), next).response;
    expect(ops(res).some((o) => o.path === '/spec/replicas')).toBe(false);
  });

  it('ignores Steerer keys in the template when comparing', () => {
    const old = canaryDeployment();
    const next = canaryDeployment();
    (templateOf(next).metadata as { annotations: Record<string, string> }).annotations[
      'steerer.io/anything'
    ] = 'x';
    expect(mutate(old, next).response.patch).toBeUndefined();
  });
});

describe('mutateDeployment: pod template unchanged', () => {
  it.each<Phase>(['Initialized', 'Succeeded'])(
    'keeps 0 replicas while the rollout is idle (%s), with a warning',
    (phase) => {
      const next = canaryDeployment({ replicas: 1 });
      const { response } = mutate(canaryDeployment({ replicas: 0 }), next, phase);
      expect(ops(response)).toEqual([{ op: 'replace', path: '/spec/replicas', value: 0 }]);
      expect(replicasOf(patched(next, response))).toBe(0);
      expect(response.warnings).toEqual([
        `${NS}/podinfo-canary stays at 0 replicas: its pod template is unchanged and Rollout ${NS}/podinfo is idle (${phase}); Steerer scales it up when a new revision is applied`,
      ]);
    },
  );

  it.each<Phase>(['Waiting', 'Progressing', 'Halted', 'Promoting', 'Finalising'])(
    'lets replicas change while %s',
    (phase) => {
      const { response } = mutate(
        canaryDeployment({ replicas: 0 }),
        canaryDeployment({ replicas: 2 }),
        phase,
      );
      expect(response).toEqual({ uid: response.uid, allowed: true });
    },
  );

  it("never overrides the controller's own scaling (field manager steerer)", () => {
    const { response } = mutate(
      canaryDeployment({ replicas: 0 }),
      canaryDeployment({ replicas: 2 }),
      'Succeeded',
      { fieldManager: 'steerer' },
    );
    expect(response.patch).toBeUndefined();
  });

  it('allows a scale-down and other edits without a patch', () => {
    expect(
      mutate(canaryDeployment({ replicas: 2 }), canaryDeployment({ replicas: 0 })).response.patch,
    ).toBeUndefined();
    expect(
      mutate(canaryDeployment({ replicas: 1 }), canaryDeployment({ replicas: 3 })).response.patch,
    ).toBeUndefined();
  });

  it('allows when the Rollout is unknown', () => {
    expect(
      mutate(canaryDeployment({ replicas: 0 }), canaryDeployment({ replicas: 1 }), null).response
        .patch,
    ).toBeUndefined();
  });
});

describe('mutateDeployment: not a canary update', () => {
  it('skips Deployments without the canary role label, though the objectSelector should have', () => {
    const labels = { app: 'x', [LABELS.rollout]: 'podinfo', [LABELS.role]: 'primary' };
    const { response, note } = mutate(
      canaryDeployment({ image: 'a', labels }),
      canaryDeployment({ image: 'b', labels }),
    );
    expect(response.patch).toBeUndefined();
    expect(note).toContain('canary');
  });

  it('uses the old object labels when an update drops them', () => {
    const next = canaryDeployment({ image: 'b', labels: { app: 'podinfo-canary' } });
    const res = mutate(canaryDeployment({ image: 'a' }), next).response;
    expect(meta(patched(next, res)).annotations?.[ANNOTATIONS.revision]).toBeDefined();
  });

  it('skips a canary label without a rollout label', () => {
    const labels = { [LABELS.role]: 'canary' };
    expect(
      mutate(canaryDeployment({ image: 'a', labels }), canaryDeployment({ image: 'b', labels }))
        .response.patch,
    ).toBeUndefined();
  });

  it('skips CREATE, subresources and objects without a template', () => {
    const create = parseAdmissionReview(
      admissionReview({ kind: KINDS.deployment, operation: 'CREATE', object: canaryDeployment() }),
    );
    if (!create.ok) throw new Error(create.reason);
    expect(
      mutateDeployment(create.request, { rollout: undefined }, NOW).response.patch,
    ).toBeUndefined();
    const scale = {
      ...request(canaryDeployment({ image: 'a' }), canaryDeployment({ image: 'b' })),
      subResource: 'scale',
    };
    expect(mutateDeployment(scale, { rollout: undefined }, NOW).response.patch).toBeUndefined();
    const bare = request(
      { metadata: { name: 'x' } },
      { metadata: { name: 'x' }, spec: 'nonsense' },
    );
    expect(mutateDeployment(bare, { rollout: undefined }, NOW)).toMatchObject({
      response: { allowed: true },
    });
  });

  it('never denies', () => {
    const weird = request(canaryDeployment(), {
      ...canaryDeployment(),
      metadata: { labels: { [LABELS.role]: 'canary', [LABELS.rollout]: 'p' }, annotations: 'x' },
    });
    expect(
      mutateDeployment(weird, { rollout: rollout({ phase: 'Succeeded' }) }, NOW).response.allowed,
    ).toBe(true);
  });
});

describe('deploymentFacts', () => {
  it('reads the Rollout named by the label', async () => {
    const lookup = new StaticLookup().add(rollout({ phase: 'Initialized' }));
    const facts = await deploymentFacts(request(canaryDeployment(), canaryDeployment()), lookup);
    expect(facts.rollout?.metadata.name).toBe('podinfo');
    expect(lookup.calls).toEqual([`rollout:${NS}/podinfo`]);
  });

  it('reads nothing for a Deployment that is not a canary', async () => {
    const lookup = new StaticLookup();
    const labels = { app: 'x' };
    await deploymentFacts(
      request(canaryDeployment({ labels }), canaryDeployment({ labels })),
      lookup,
    );
    expect(lookup.calls).toEqual([]);
  });
});
