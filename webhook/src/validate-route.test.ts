import { describe, expect, it } from '@jest/globals';
import { gatewayHTTPRoute, istioVirtualService } from '@steerer/common';
import type { Phase, VirtualService } from '@steerer/common';
import { parseAdmissionReview } from './admission.js';
import type { AdmissionRequest, Operation, Reviewed } from './admission.js';
import { validateRoute } from './validate-route.js';
import type { RouteFacts } from './validate-route.js';
import {
  HTTP_ROUTE_SPEC,
  KINDS,
  SUBSET_SPEC,
  admissionReview,
  httpRoute,
  rollout,
  virtualService,
} from './testing.js';

function request(
  oldObject: VirtualService | Record<string, unknown>,
  object: VirtualService | Record<string, unknown>,
  operation: Operation = 'UPDATE',
): AdmissionRequest {
  const parsed = parseAdmissionReview(
    admissionReview({ kind: KINDS.virtualService, operation, object, oldObject }),
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

const validateVirtualService = (req: AdmissionRequest, facts: RouteFacts): Reviewed =>
  validateRoute(req, facts, istioVirtualService);

const both = virtualService();
const primaryOnly = virtualService('podinfo', ['podinfo']);

describe('validateVirtualService', () => {
  it.each<Phase>(['Progressing', 'Halted', 'Promoting'])(
    'denies removing the canary destination while %s, naming the Rollout',
    (phase) => {
      const { response } = validateVirtualService(request(both, primaryOnly), {
        rollouts: [rollout({ phase })],
      });
      expect(response.allowed).toBe(false);
      expect(response.status?.code).toBe(409);
      expect(response.status?.message).toBe(
        `VirtualService test/podinfo must keep routing to the primary and canary: Rollout test/podinfo is releasing (${phase}) through it: VirtualService podinfo.test has no route to podinfo-canary. Retry once the release has finished`,
      );
    },
  );

  it('denies removing the primary destination during a release', () => {
    const { response } = validateVirtualService(
      request(both, virtualService('podinfo', ['podinfo-canary'])),
      { rollouts: [rollout({ phase: 'Progressing' })] },
    );
    expect(response.status?.message).toContain('has no route to podinfo');
  });

  it('denies renaming the canary subset during a release through subsets', () => {
    const bySubsets = (canarySubset: string): VirtualService => {
      const v = virtualService('podinfo', ['podinfo', 'podinfo']);
      for (const [i, subset] of ['primary', canarySubset].entries()) {
        const d = v.spec.http?.[0]?.route?.[i];
        if (d) d.destination.subset = subset;
      }
      return v;
    };
    const { response } = validateVirtualService(request(bySubsets('canary'), bySubsets('v2')), {
      rollouts: [rollout({ phase: 'Progressing', spec: SUBSET_SPEC })],
    });
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain(
      'VirtualService podinfo.test has no route to podinfo subset canary',
    );
  });

  it("always passes weight edits (Steerer's own)", () => {
    const shifted = virtualService('podinfo', ['podinfo', 'podinfo-canary'], [70, 30]);
    const { response } = validateVirtualService(request(both, shifted), {
      rollouts: [rollout({ phase: 'Progressing' })],
    });
    expect(response).toEqual({ uid: response.uid, allowed: true });
  });

  it.each<Phase>(['Initialized', 'Succeeded', 'Waiting', 'Finalising'])(
    'allows breaking the pairing while %s, with a warning',
    (phase) => {
      const { response } = validateVirtualService(request(both, primaryOnly), {
        rollouts: [rollout({ phase })],
      });
      expect(response.allowed).toBe(true);
      expect(response.warnings).toEqual([
        'VirtualService podinfo.test has no route to podinfo-canary; Rollout test/podinfo waits until it routes to both podinfo and podinfo-canary',
      ]);
    },
  );

  it('allows an update of a VirtualService that was already broken', () => {
    const { response } = validateVirtualService(request(primaryOnly, primaryOnly), {
      rollouts: [rollout({ phase: 'Progressing' })],
    });
    expect(response.allowed).toBe(true);
    expect(response.warnings).toHaveLength(1);
  });

  it('allows VirtualServices no Rollout uses, without checking routes', () => {
    const other = virtualService('unrelated', ['x']);
    const { response, note } = validateVirtualService(
      request(other, { ...other, spec: 'garbage' }),
      { rollouts: [rollout({ phase: 'Progressing' })] },
    );
    expect(response).toEqual({ uid: response.uid, allowed: true });
    expect(note).toBe('not used by a Rollout');
  });

  it('ignores Rollouts with an invalid spec', () => {
    const broken = rollout({ phase: 'Progressing', spec: { metric: 'nope' } });
    expect(
      validateVirtualService(request(both, primaryOnly), { rollouts: [broken] }).response.allowed,
    ).toBe(true);
  });

  it('reads malformed routes safely (no crash, treated as no route)', () => {
    const malformed = {
      metadata: { name: 'podinfo', namespace: 'test' },
      spec: { http: [{ route: [{ destination: 'x' }, null, { destination: { host: 7 } }] }, 'x'] },
    };
    const { response } = validateVirtualService(request(both, malformed), {
      rollouts: [rollout({ phase: 'Halted' })],
    });
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('has no route to podinfo and podinfo-canary');
  });

  it('lists every Rollout it would break', () => {
    const a = rollout({ phase: 'Progressing' });
    const b = rollout({
      name: 'b',
      phase: 'Succeeded',
      spec: { primary: { name: 'p2', host: 'p2' }, canary: { name: 'c2', host: 'c2' } },
    });
    const { response } = validateVirtualService(request(both, primaryOnly), { rollouts: [a, b] });
    expect(response.allowed).toBe(false);
    expect(response.warnings?.[0]).toContain('Rollout test/b waits');
  });

  it('does not check CREATE', () => {
    const { response } = validateVirtualService(request(both, primaryOnly, 'CREATE'), {
      rollouts: [rollout({ phase: 'Progressing' })],
    });
    expect(response.allowed).toBe(true);
  });
});

describe('validateRoute with the HTTPRoute router', () => {
  function routeRequest(oldObject: unknown, object: unknown): AdmissionRequest {
    const parsed = parseAdmissionReview(
      admissionReview({ kind: KINDS.httpRoute, operation: 'UPDATE', object, oldObject }),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.request;
  }
  const users = [rollout({ phase: 'Progressing', spec: HTTP_ROUTE_SPEC })];

  it('denies removing the canary backendRef mid-release, naming the Rollout', () => {
    const { response } = validateRoute(
      routeRequest(httpRoute(), httpRoute('podinfo', ['podinfo'], [1])),
      { rollouts: users },
      gatewayHTTPRoute,
    );
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toBe(
      'HTTPRoute test/podinfo must keep routing to the primary and canary: Rollout test/podinfo is releasing (Progressing) through it: HTTPRoute podinfo.test has no backendRef to podinfo-canary. Retry once the release has finished',
    );
  });

  it('passes weight edits and edits of other rules', () => {
    const next = httpRoute('podinfo', undefined, [70, 30]);
    next.spec.rules?.push({ matches: [{ path: { type: 'PathPrefix', value: '/x' } }] });
    const { response } = validateRoute(
      routeRequest(httpRoute(), next),
      { rollouts: users },
      gatewayHTTPRoute,
    );
    expect(response).toEqual({ uid: response.uid, allowed: true });
  });

  it('does not take a Rollout naming a VirtualService of the same name for a user', () => {
    const { response } = validateRoute(
      routeRequest(httpRoute(), httpRoute('podinfo', ['podinfo'], [1])),
      { rollouts: [rollout({ phase: 'Progressing' })] },
      gatewayHTTPRoute,
    );
    expect(response.allowed).toBe(true);
  });
});
