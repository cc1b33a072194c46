import { describe, expect, it } from '@jest/globals';
import type { HorizontalPodAutoscaler, RolloutObject } from '@steerer/common';
import { RefIndex } from './ref-index.js';

function rollout(name: string, spec: unknown, namespace = 'test'): RolloutObject {
  return { metadata: { name, namespace }, spec };
}

const SPEC = {
  primary: { name: 'podinfo', host: 'podinfo' },
  canary: { name: 'podinfo-canary', host: 'podinfo-canary.test.svc.cluster.local' },
  virtualService: { name: 'podinfo-vs' },
};

function hpa(
  name: string,
  target: string,
  kind = 'Deployment',
  namespace = 'test',
): HorizontalPodAutoscaler {
  return {
    metadata: { name, namespace },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind, name: target }, maxReplicas: 4 },
  };
}

describe('RefIndex', () => {
  it('maps each referenced object to the Rollouts that refer to it', () => {
    const ix = new RefIndex();
    ix.setRollout('test/a', rollout('a', SPEC));
    ix.setRollout('test/b', rollout('b', { ...SPEC, canary: { name: 'other', host: 'other' } }));
    expect(ix.rolloutsReferring('deployment', 'test/podinfo').sort()).toEqual(['test/a', 'test/b']);
    expect(ix.rolloutsReferring('deployment', 'test/podinfo-canary')).toEqual(['test/a']);
    expect(ix.rolloutsReferring('deployment', 'test/other')).toEqual(['test/b']);
    expect(ix.rolloutsReferring('service', 'test/podinfo-canary')).toEqual(['test/a']);
    expect(ix.rolloutsReferring('route:VirtualService', 'test/podinfo-vs').sort()).toEqual([
      'test/a',
      'test/b',
    ]);
    expect(ix.rolloutsReferring('service', 'prod/podinfo')).toEqual([]);
    // Kinds do not mix: a Service and a Deployment can share a name.
    expect(ix.rolloutsReferring('route:VirtualService', 'test/podinfo')).toEqual([]);
    expect(ix.refs('test/a')?.canaryName).toBe('podinfo-canary');
  });

  it('moves a Rollout when its references change', () => {
    const ix = new RefIndex();
    ix.setRollout('test/a', rollout('a', SPEC));
    ix.setRollout(
      'test/a',
      rollout('a', { ...SPEC, canary: { name: 'v2', host: 'v2' }, virtualService: {} }),
    );
    expect(ix.rolloutsReferring('deployment', 'test/podinfo-canary')).toEqual([]);
    expect(ix.rolloutsReferring('service', 'test/podinfo-canary')).toEqual([]);
    expect(ix.rolloutsReferring('route:VirtualService', 'test/podinfo-vs')).toEqual([]);
    expect(ix.rolloutsReferring('deployment', 'test/v2')).toEqual(['test/a']);
  });

  it('forgets a deleted Rollout and leaves no empty entries behind', () => {
    const ix = new RefIndex();
    ix.setRollout('test/a', rollout('a', SPEC));
    ix.setRollout('test/a', undefined);
    expect(ix.rolloutsReferring('deployment', 'test/podinfo')).toEqual([]);
    expect(ix.refs('test/a')).toBeUndefined();
    expect(ix.sizes).toEqual({ objects: 0, rollouts: 0, targets: 0 });
    ix.setRollout('test/never', undefined);
    expect(ix.sizes.rollouts).toBe(0);
  });

  it('counts a Rollout referring to one object twice once', () => {
    const ix = new RefIndex();
    ix.setRollout(
      'test/a',
      rollout('a', { primary: { name: 'x', host: 'x' }, canary: { name: 'x', host: 'x' } }),
    );
    expect(ix.rolloutsReferring('deployment', 'test/x')).toEqual(['test/a']);
    ix.setRollout('test/a', undefined);
    expect(ix.sizes.objects).toBe(0);
  });

  describe('HPAs', () => {
    it('records which HPA scales a Deployment, and returns the Deployment to wake', () => {
      const ix = new RefIndex();
      expect(ix.setHpa('test/h', hpa('h', 'podinfo-canary'))).toEqual(['test/podinfo-canary']);
      expect(ix.hpaOf('test/podinfo-canary')).toBe('test/h');
      expect(ix.setHpa('test/h', hpa('h', 'podinfo-canary'))).toEqual(['test/podinfo-canary']);
      expect(ix.setHpa('test/h', undefined)).toEqual(['test/podinfo-canary']);
      expect(ix.hpaOf('test/podinfo-canary')).toBeUndefined();
      expect(ix.sizes.targets).toBe(0);
    });

    it('moves an HPA that was retargeted, waking both Deployments', () => {
      const ix = new RefIndex();
      ix.setHpa('test/h', hpa('h', 'old'));
      expect(ix.setHpa('test/h', hpa('h', 'new'))).toEqual(['test/old', 'test/new']);
      expect(ix.hpaOf('test/old')).toBeUndefined();
      expect(ix.hpaOf('test/new')).toBe('test/h');
    });

    it('ignores HPAs of other kinds, and forgets one retargeted to another kind', () => {
      const ix = new RefIndex();
      ix.setHpa('test/s', hpa('s', 'db', 'StatefulSet'));
      expect(ix.hpaOf('test/db')).toBeUndefined();
      ix.setHpa('test/h', hpa('h', 'web'));
      ix.setHpa('test/h', hpa('h', 'web', 'StatefulSet'));
      expect(ix.hpaOf('test/web')).toBeUndefined();
    });

    it('keeps a second HPA of the same Deployment when the first goes', () => {
      const ix = new RefIndex();
      ix.setHpa('test/h1', hpa('h1', 'web'));
      ix.setHpa('test/h2', hpa('h2', 'web'));
      expect(ix.hpaOf('test/web')).toBe('test/h1');
      ix.setHpa('test/h1', undefined);
      expect(ix.hpaOf('test/web')).toBe('test/h2');
    });

    it('keys targets by the HPA namespace', () => {
      const ix = new RefIndex();
      ix.setHpa('prod/h', hpa('h', 'web', 'Deployment', 'prod'));
      expect(ix.hpaOf('prod/web')).toBe('prod/h');
      expect(ix.hpaOf('test/web')).toBeUndefined();
    });
  });
});
