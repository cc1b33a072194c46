import { describe, expect, it } from '@jest/globals';
import { serviceKeyOfHost } from './hosts.js';
import { rolloutRefs } from './refs.js';

function rollout(spec: unknown): { metadata: { name: string; namespace: string }; spec: unknown } {
  return { metadata: { name: 'r', namespace: 'test' }, spec };
}

const SPEC = {
  primary: { name: 'podinfo', host: 'podinfo' },
  canary: { name: 'podinfo-canary', host: 'podinfo-canary.test.svc.cluster.local' },
  virtualService: { name: 'podinfo-vs' },
};

describe('serviceKeyOfHost', () => {
  it.each([
    ['podinfo', 'test/podinfo'],
    ['podinfo.prod', 'prod/podinfo'],
    ['podinfo.prod.svc', 'prod/podinfo'],
    ['podinfo.prod.svc.cluster.local', 'prod/podinfo'],
  ])('%s → %s', (host, key) => {
    expect(serviceKeyOfHost(host, 'test')).toBe(key);
  });
});

describe('rolloutRefs', () => {
  it('names every referenced object, the route object with its router kind', () => {
    expect(rolloutRefs(rollout(SPEC))).toEqual({
      name: 'r',
      namespace: 'test',
      primaryName: 'podinfo',
      canaryName: 'podinfo-canary',
      primaryHost: 'podinfo',
      canaryHost: 'podinfo-canary.test.svc.cluster.local',
      route: { kind: 'VirtualService', name: 'podinfo-vs' },
    });
  });

  it('names an HTTPRoute by its router kind', () => {
    const spec = { ...SPEC, virtualService: undefined, httpRoute: { name: 'podinfo-route' } };
    expect(rolloutRefs(rollout(spec)).route).toEqual({ kind: 'HTTPRoute', name: 'podinfo-route' });
  });

  it('takes the first router in ROUTERS order when both are named (the spec is invalid)', () => {
    const spec = { ...SPEC, httpRoute: { name: 'podinfo-route' } };
    expect(rolloutRefs(rollout(spec)).route).toEqual({
      kind: 'VirtualService',
      name: 'podinfo-vs',
    });
  });

  it.each([
    ['null', null],
    ['a string', 'x'],
    ['an empty object', {}],
    ['wrong types', { primary: { name: 5, host: [] }, canary: 'x', virtualService: { name: '' } }],
  ])('reads a spec that is %s as referring to nothing', (_n, spec) => {
    expect(rolloutRefs(rollout(spec))).toEqual({ name: 'r', namespace: 'test' });
  });

  it('keeps what an otherwise invalid spec names', () => {
    expect(rolloutRefs(rollout({ canary: { name: 'c' }, metric: 'bad' }))).toEqual({
      name: 'r',
      namespace: 'test',
      canaryName: 'c',
    });
  });
});
