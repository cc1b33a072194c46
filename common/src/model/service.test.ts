import { describe, expect, it } from '@jest/globals';
import type { Service } from './objects.js';
import { selectorOverlapMessage, selectorOverlaps, serviceProblem } from './service.js';
import type { SelectorSide } from './service.js';

const NS = 'test';

function svc(name: string, selector?: Record<string, string>, namespace = NS): Service {
  return {
    metadata: { name, namespace },
    spec: {
      type: 'ClusterIP',
      ...(selector ? { selector } : {}),
      ports: [{ name: 'http', port: 9898 }],
    },
  };
}

function side(
  host: string,
  service: Service,
  deployment: string,
  podLabels: Record<string, string> | undefined,
): SelectorSide {
  return { host, service, deployment, podLabels };
}

const q = (name: string, namespace: string): string => `${name}.${namespace}`;

describe('serviceProblem', () => {
  it('passes a ClusterIP Service with a port named http or https', () => {
    expect(serviceProblem(svc('podinfo'), 'podinfo.test')).toBeUndefined();
  });

  it('names a Service of another type, and one without an http port', () => {
    const nodePort = { ...svc('podinfo'), spec: { ...svc('podinfo').spec, type: 'NodePort' } };
    expect(serviceProblem(nodePort, 'podinfo.test')).toEqual({
      kind: 'type',
      message: 'Service podinfo.test is of type NodePort, not ClusterIP',
    });
    const metrics = { ...svc('podinfo'), spec: { ports: [{ name: 'metrics', port: 9797 }] } };
    expect(serviceProblem(metrics, 'podinfo.test')?.kind).toBe('ports');
  });
});

describe('selectorOverlaps', () => {
  const primaryPods = { app: 'podinfo', track: 'primary' };
  const canaryPods = { app: 'podinfo', track: 'canary' };

  it('finds nothing when each selector picks only its own pods', () => {
    expect(
      selectorOverlaps(
        NS,
        side('podinfo', svc('podinfo', primaryPods), 'podinfo', primaryPods),
        side('podinfo-canary', svc('podinfo-canary', canaryPods), 'podinfo-canary', canaryPods),
      ),
    ).toEqual([]);
  });

  it("names the primary's Service and every label the canary's pods share with its selector", () => {
    const overlaps = selectorOverlaps(
      NS,
      side('podinfo', svc('podinfo', { app: 'podinfo' }), 'podinfo', primaryPods),
      side('podinfo-canary', svc('podinfo-canary', canaryPods), 'podinfo-canary', canaryPods),
    );
    expect(overlaps).toEqual([
      {
        role: 'primary',
        service: { namespace: NS, name: 'podinfo' },
        deployment: 'podinfo-canary',
        labels: ['app=podinfo'],
      },
    ]);
    expect(selectorOverlapMessage(overlaps[0] as (typeof overlaps)[0], q)).toBe(
      "Service podinfo.test (spec.primary.host) selects the canary's pods too: its selector app=podinfo matches the pod template labels of Deployment podinfo-canary.test; part of the primary's traffic would reach the canary's pods, beyond the canary's weight. Give the two Deployments' pods a label that tells them apart and select on it",
    );
  });

  it("names the canary's Service when it selects the primary's pods, and both when both do", () => {
    const shared = { tier: 'web' };
    const one = selectorOverlaps(
      NS,
      side('podinfo', svc('podinfo', primaryPods), 'podinfo', { ...primaryPods, ...shared }),
      side('podinfo-canary', svc('podinfo-canary', shared), 'podinfo-canary', canaryPods),
    );
    expect(one.map((o) => [o.role, o.service.name, o.labels])).toEqual([
      ['canary', 'podinfo-canary', ['tier=web']],
    ]);
    expect(selectorOverlapMessage(one[0] as (typeof one)[0], q)).toContain(
      "part of the canary's traffic would reach the primary's pods, unseen by the canary's checks",
    );
    const both = selectorOverlaps(
      NS,
      side('podinfo', svc('podinfo', shared), 'podinfo', { ...primaryPods, ...shared }),
      side('podinfo-canary', svc('podinfo-canary', shared), 'podinfo-canary', {
        ...canaryPods,
        ...shared,
      }),
    );
    expect(both.map((o) => o.role)).toEqual(['primary', 'canary']);
  });

  it('lists every label of a multi-label selector the other pods carry', () => {
    const [o] = selectorOverlaps(
      NS,
      side('podinfo', svc('podinfo', { app: 'podinfo', tier: 'web' }), 'podinfo', primaryPods),
      side('podinfo-canary', svc('podinfo-canary', canaryPods), 'podinfo-canary', {
        ...canaryPods,
        tier: 'web',
      }),
    );
    expect(o?.labels).toEqual(['app=podinfo', 'tier=web']);
  });

  it('ignores a Service without a selector: it selects no pods', () => {
    expect(
      selectorOverlaps(
        NS,
        side('podinfo', svc('podinfo'), 'podinfo', primaryPods),
        side('podinfo-canary', svc('podinfo-canary', canaryPods), 'podinfo-canary', canaryPods),
      ),
    ).toEqual([]);
  });

  it('ignores a Service of another namespace, and pods whose labels are unknown', () => {
    expect(
      selectorOverlaps(
        NS,
        side('podinfo.prod', svc('podinfo', { app: 'podinfo' }, 'prod'), 'podinfo', primaryPods),
        side('podinfo-canary', svc('podinfo-canary', canaryPods), 'podinfo-canary', canaryPods),
      ),
    ).toEqual([]);
    expect(
      selectorOverlaps(
        NS,
        side('podinfo', svc('podinfo', { app: 'podinfo' }), 'podinfo', primaryPods),
        side('podinfo-canary', svc('podinfo-canary', canaryPods), 'podinfo-canary', undefined),
      ),
    ).toEqual([]);
  });

  it('leaves one Service carrying both sides (subset routing) to the subset check', () => {
    const one = svc('podinfo', { app: 'podinfo' });
    expect(
      selectorOverlaps(
        NS,
        side('podinfo', one, 'podinfo', primaryPods),
        side('podinfo.test', one, 'podinfo-canary', canaryPods),
      ),
    ).toEqual([]);
  });
});
