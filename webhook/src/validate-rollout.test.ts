import { describe, expect, it } from '@jest/globals';
import type { RolloutObject } from '@steerer/common';
import { parseAdmissionReview } from './admission.js';
import type { AdmissionRequest, AdmissionResponse, Operation } from './admission.js';
import type { Lookup } from './lookup.js';
import { rolloutFacts, rolloutTarget, validateRollout } from './validate-rollout.js';
import {
  KINDS,
  NS,
  StaticLookup,
  admissionReview,
  rollout,
  seedLookup,
  service,
  virtualService,
} from './testing.js';

function request(
  object: RolloutObject | Record<string, unknown>,
  operation: Operation = 'CREATE',
  oldObject?: unknown,
): AdmissionRequest {
  const parsed = parseAdmissionReview(
    admissionReview({
      kind: KINDS.rollout,
      operation,
      object,
      ...(oldObject ? { oldObject } : {}),
    }),
  );
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

/** What the app does: validate the spec, gather facts for a valid one, decide. */
async function review(
  obj: RolloutObject | Record<string, unknown>,
  lookup: Lookup,
  operation: Operation = 'CREATE',
  oldObject?: unknown,
): Promise<AdmissionResponse> {
  const req = request(obj, operation, oldObject);
  const t = rolloutTarget(req);
  const facts =
    'skip' in t || !t.spec.ok
      ? undefined
      : await rolloutFacts(t.namespace, t.name, t.spec.value, lookup);
  return validateRollout(req, facts).response;
}

describe('validateRollout', () => {
  it('admits the seed Rollout when everything it names exists and routes', async () => {
    expect(await review(rollout(), seedLookup())).toEqual({
      uid: expect.any(String),
      allowed: true,
    });
  });

  it('denies an invalid spec naming every bad field, with causes', async () => {
    const bad = rollout({
      spec: {
        targetKind: 'StatefulSet',
        metric: { type: 'counter', name: 'istio_requests_total', interval: 'soon', threshold: 101 },
      },
    });
    const lookup = seedLookup();
    const res = await review(bad, lookup);
    expect(res.allowed).toBe(false);
    expect(res.status?.code).toBe(422);
    expect(res.status?.message).toMatch(/^Rollout test\/podinfo is invalid: /);
    for (const field of ['spec.targetKind', 'spec.metric.interval', 'spec.metric.threshold']) {
      expect(res.status?.message).toContain(field);
      expect(res.status?.details?.causes.map((c) => c.field)).toContain(field);
    }
    expect(lookup.calls).toEqual([]);
  });

  it('denies a missing spec', async () => {
    const res = await review(
      {
        apiVersion: 'apps.weave.works/v1beta1',
        kind: 'Rollout',
        metadata: { name: 'x', namespace: NS },
      },
      seedLookup(),
    );
    expect(res.status?.message).toBe('Rollout test/x is invalid: spec: required');
  });

  it('denies primary = canary', async () => {
    const res = await review(
      rollout({ spec: { canary: { name: 'podinfo', host: 'podinfo' } } }),
      seedLookup(),
    );
    expect(res.status?.message).toContain('spec.canary.name: must differ from spec.primary.name');
    expect(res.status?.message).toContain('spec.canary.host: must differ from spec.primary.host');
  });

  it('denies a canary Deployment another Rollout already owns, naming that Rollout', async () => {
    const lookup = seedLookup('Succeeded');
    const second = rollout({
      name: 'podinfo-2',
      spec: { primary: { name: 'other', host: 'other' } },
    });
    const res = await review(second, lookup);
    expect(res.allowed).toBe(false);
    expect(res.status).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(res.status?.message).toContain(
      'Deployment test/podinfo-canary (spec.canary.name) is already the canary of Rollout test/podinfo',
    );
    expect(res.status?.message).toContain(
      'Service host podinfo-canary (spec.canary.host) is already the canary host of Rollout test/podinfo',
    );
  });

  it('compares hosts as FQDNs and across roles', async () => {
    const lookup = seedLookup('Succeeded');
    const second = rollout({
      name: 'other',
      spec: {
        primary: { name: 'a', host: 'podinfo-canary.test.svc.cluster.local' },
        canary: { name: 'b', host: 'b' },
      },
    });
    const res = await review(second, lookup);
    expect(res.status?.message).toContain(
      'Service host podinfo-canary.test.svc.cluster.local (spec.primary.host) is already the canary host of Rollout test/podinfo',
    );
  });

  it('does not count the Rollout itself on UPDATE', async () => {
    const lookup = seedLookup('Succeeded');
    const changed = rollout({ spec: { virtualService: { name: 'podinfo', weight: 20 } } });
    expect((await review(changed, lookup, 'UPDATE', rollout())).allowed).toBe(true);
  });

  it('denies a VirtualService without the canary route, naming it and the missing host', async () => {
    const lookup = seedLookup().add(virtualService('podinfo', ['podinfo']));
    const res = await review(rollout(), lookup);
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toBe(
      'Rollout test/podinfo cannot shift traffic with VirtualService test/podinfo: VirtualService podinfo.test has no route to podinfo-canary',
    );
  });

  it('denies a route that also sends traffic elsewhere', async () => {
    const lookup = seedLookup().add(
      virtualService('podinfo', ['podinfo', 'podinfo-canary', 'legacy'], [50, 0, 50]),
    );
    const res = await review(rollout(), lookup);
    expect(res.status?.message).toContain('also sends traffic to legacy.test.svc.cluster.local');
  });

  it('admits with warnings what does not exist yet', async () => {
    const res = await review(rollout(), new StaticLookup());
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([
      'Deployment test/podinfo does not exist yet; the rollout waits for it',
      'Deployment test/podinfo-canary does not exist yet; the rollout waits for it',
      'Service test/podinfo does not exist yet; the rollout waits for it',
      'Service test/podinfo-canary does not exist yet; the rollout waits for it',
      'VirtualService test/podinfo does not exist yet; the rollout waits for it',
    ]);
  });

  it('looks Services up by host, in the namespace the host names', async () => {
    const lookup = seedLookup();
    await review(
      rollout({
        spec: {
          canary: { name: 'podinfo-canary', host: 'podinfo-canary.other.svc.cluster.local' },
        },
      }),
      lookup,
    );
    expect(lookup.calls).toContain('service:other/podinfo-canary');
  });

  it('warns about a Service without an http port', async () => {
    const lookup = seedLookup().add(service('podinfo-canary', 'grpc'));
    const res = await review(rollout(), lookup);
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([
      'Service test/podinfo-canary has no port named http or https; the rollout waits until it has one',
    ]);
  });

  it('warns (and admits) when a lookup fails', async () => {
    const lookup = seedLookup();
    lookup.failing.add('deployment:test/podinfo');
    const res = await review(rollout(), lookup);
    expect(res.allowed).toBe(true);
    expect(res.warnings).toEqual([
      'could not check Deployment test/podinfo (connection refused); the rollout waits for it if it is missing',
    ]);
  });

  it('warns about split routes with different weights', async () => {
    const vs = virtualService();
    vs.spec.http = [
      ...(vs.spec.http ?? []),
      {
        match: [{ headers: {} }],
        route: [
          { destination: { host: 'podinfo' }, weight: 50 },
          { destination: { host: 'podinfo-canary' }, weight: 50 },
        ],
      },
    ];
    const res = await review(rollout(), seedLookup().add(vs));
    expect(res.warnings?.[0]).toContain('Steerer will align their weights');
  });

  it('skips UPDATEs that leave the spec alone (metadata, finalizers)', async () => {
    const lookup = seedLookup();
    const labelled = { ...rollout(), metadata: { ...rollout().metadata, labels: { team: 'a' } } };
    expect(await review(labelled, lookup, 'UPDATE', rollout())).toEqual({
      uid: expect.any(String),
      allowed: true,
    });
    expect(lookup.calls).toEqual([]);
  });

  it('checks a manual request annotation even when the spec is unchanged', async () => {
    const lookup = seedLookup();
    const withRequest = (value: string): RolloutObject => {
      const r = rollout();
      r.metadata.annotations = { 'steerer.io/request': value };
      return r;
    };
    for (const value of ['promote', 'promote-force', 'abort', 'retry', 'pause', 'resume']) {
      expect((await review(withRequest(value), lookup, 'UPDATE', rollout())).allowed).toBe(true);
    }
    const res = await review(withRequest('rollback'), lookup, 'UPDATE', rollout());
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('metadata.annotations[steerer.io/request]');
    expect(res.status?.message).toContain(
      'use one of promote, promote-force, abort, retry, pause, resume',
    );
    expect(res.status?.details?.causes?.[0]?.field).toBe(
      'metadata.annotations[steerer.io/request]',
    );
    expect(lookup.calls).toEqual([]);
  });

  it('skips a Rollout being deleted', async () => {
    const deleting = {
      ...rollout({ spec: { targetKind: 'bad' } }),
      metadata: { name: 'podinfo', namespace: NS, deletionTimestamp: '2026-01-01T00:00:00Z' },
    };
    expect((await review(deleting, seedLookup(), 'UPDATE', rollout())).allowed).toBe(true);
  });

  it('allows DELETE without looking', () => {
    const parsed = parseAdmissionReview(
      admissionReview({ kind: KINDS.rollout, operation: 'DELETE', oldObject: rollout() }),
    );
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(validateRollout(parsed.request, undefined).response.allowed).toBe(true);
  });
});
