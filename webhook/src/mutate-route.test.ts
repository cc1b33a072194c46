import { describe, expect, it } from '@jest/globals';
import { applyJsonPatch, gatewayHTTPRoute, istioVirtualService } from '@steerer/common';
import type { JsonPatchOp, Phase } from '@steerer/common';
import { parseAdmissionReview } from './admission.js';
import type { AdmissionRequest, AdmissionResponse, JsonMap } from './admission.js';
import { keepRouteWeights } from './mutate-route.js';
import {
  HTTP_ROUTE_SPEC,
  KINDS,
  admissionReview,
  httpRoute,
  rollout,
  virtualService,
} from './testing.js';

type Kind = (typeof KINDS)[keyof typeof KINDS];

function request(
  kind: Kind,
  oldObject: unknown,
  object: unknown,
  options: JsonMap = { kind: 'PatchOptions', fieldManager: 'gitops', force: true },
  extra: { subResource?: string } = {},
): AdmissionRequest {
  const review = admissionReview({ kind, operation: 'UPDATE', object, oldObject, options });
  if (extra.subResource) (review.request as JsonMap).subResource = extra.subResource;
  const parsed = parseAdmissionReview(review);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

function patchOf(r: AdmissionResponse): JsonPatchOp[] {
  return r.patch
    ? (JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as JsonPatchOp[])
    : [];
}

const HOSTS = { primary: 'podinfo', canary: 'podinfo-canary', namespace: 'test' };

describe('keepRouteWeights (HTTPRoute)', () => {
  const releasing = (phase: Phase = 'Progressing') => [rollout({ phase, spec: HTTP_ROUTE_SPEC })];
  const steerers = httpRoute('podinfo', undefined, [80, 20]);
  const fromGit = httpRoute('podinfo', undefined, [100, 0]);

  it.each<Phase>(['Progressing', 'Halted', 'Paused', 'Promoting', 'Finalising', 'RollingBack'])(
    "keeps Steerer's weights when a GitOps re-apply resets them while %s, with a warning",
    (phase) => {
      const req = request(KINDS.httpRoute, steerers, fromGit);
      const { response, note } = keepRouteWeights(
        req,
        { rollouts: releasing(phase) },
        gatewayHTTPRoute,
      );
      expect(response.allowed).toBe(true);
      expect(response.patchType).toBe('JSONPatch');
      const patched = applyJsonPatch(fromGit, patchOf(response));
      expect(gatewayHTTPRoute.read(patched, HOSTS)).toMatchObject({
        ok: true,
        weights: { primary: 80, canary: 20 },
      });
      expect(response.warnings).toEqual([
        `kept HTTPRoute test/podinfo at 80/20, not 100/0: Rollout test/podinfo is releasing through it (${phase}) and Steerer sets its weights until the release ends; this update by gitops changed them`,
      ]);
      expect(note).toBe("kept Steerer's weights for 1 Rollouts");
    },
  );

  it('lets the rest of the update through (a new hostname, a timeout)', () => {
    const next = httpRoute('podinfo', undefined, [100, 0]);
    next.spec.hostnames = ['new.example.com'];
    const { response } = keepRouteWeights(
      request(KINDS.httpRoute, steerers, next),
      { rollouts: releasing() },
      gatewayHTTPRoute,
    );
    const patched = applyJsonPatch(next, patchOf(response));
    expect(patched.spec.hostnames).toEqual(['new.example.com']);
    expect(patchOf(response).every((o) => o.op === 'test' || o.path.endsWith('/weight'))).toBe(
      true,
    );
  });

  it.each<Phase>(['Initialized', 'Succeeded', 'Failed', 'Waiting'])(
    'leaves the weights to the update while %s: no release owns them',
    (phase) => {
      const { response } = keepRouteWeights(
        request(KINDS.httpRoute, steerers, fromGit),
        { rollouts: releasing(phase) },
        gatewayHTTPRoute,
      );
      expect(response).toEqual({ uid: response.uid, allowed: true });
    },
  );

  it("never touches Steerer's own writes, status updates, or routes no Rollout releases through", () => {
    const own = request(KINDS.httpRoute, steerers, fromGit, { fieldManager: 'steerer' });
    expect(keepRouteWeights(own, { rollouts: releasing() }, gatewayHTTPRoute).note).toBe(
      "Steerer's own write",
    );
    const status = request(KINDS.httpRoute, steerers, fromGit, undefined, {
      subResource: 'status',
    });
    expect(
      keepRouteWeights(status, { rollouts: releasing() }, gatewayHTTPRoute).response.patch,
    ).toBeUndefined();
    const other = rollout({
      phase: 'Progressing',
      spec: { ...HTTP_ROUTE_SPEC, httpRoute: { name: 'other', weight: 10 } },
    });
    const unused = keepRouteWeights(
      request(KINDS.httpRoute, steerers, fromGit),
      { rollouts: [other] },
      gatewayHTTPRoute,
    );
    expect(unused.response.patch).toBeUndefined();
    // A Rollout naming a VirtualService of the same name is not this route's user.
    const vsUser = keepRouteWeights(
      request(KINDS.httpRoute, steerers, fromGit),
      { rollouts: [rollout({ phase: 'Progressing' })] },
      gatewayHTTPRoute,
    );
    expect(vsUser.response.patch).toBeUndefined();
  });

  it('allows an update that keeps the weights, or that breaks the pairing (the validating webhook decides)', () => {
    const same = keepRouteWeights(
      request(KINDS.httpRoute, steerers, httpRoute('podinfo', undefined, [80, 20])),
      { rollouts: releasing() },
      gatewayHTTPRoute,
    );
    expect(same).toEqual({
      response: { uid: same.response.uid, allowed: true },
      note: 'weights unchanged',
    });
    const broken = keepRouteWeights(
      request(KINDS.httpRoute, steerers, httpRoute('podinfo', ['podinfo'], [1])),
      { rollouts: releasing() },
      gatewayHTTPRoute,
    );
    expect(broken.response.patch).toBeUndefined();
  });

  it('names the user when the request carries no field manager', () => {
    const req = request(KINDS.httpRoute, steerers, fromGit, {});
    const { response } = keepRouteWeights(req, { rollouts: releasing() }, gatewayHTTPRoute);
    expect(response.warnings?.[0]).toContain('this update by kubernetes-admin changed them');
  });
});

describe('keepRouteWeights (VirtualService)', () => {
  it("keeps Steerer's weights on a VirtualService the same way", () => {
    const steerers = virtualService('podinfo', undefined, [70, 30]);
    const fromGit = virtualService('podinfo', undefined, [100, 0]);
    const { response } = keepRouteWeights(
      request(KINDS.virtualService, steerers, fromGit, { fieldManager: 'argocd-controller' }),
      { rollouts: [rollout({ phase: 'Halted' })] },
      istioVirtualService,
    );
    const patched = applyJsonPatch(fromGit, patchOf(response));
    expect(istioVirtualService.read(patched, HOSTS)).toMatchObject({
      weights: { primary: 70, canary: 30 },
    });
    expect(response.warnings?.[0]).toMatch(
      /^kept VirtualService test\/podinfo at 70\/30, not 100\/0: .* by argocd-controller changed them$/,
    );
  });
});
