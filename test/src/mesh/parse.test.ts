import { describe, expect, it } from '@jest/globals';
import { parseDeployment, parseService, parseVirtualService } from './parse.js';
import { rawDeployment, rawService, rawVirtualService } from './test-objects.js';

function vsError(raw: unknown): string {
  const parsed = parseVirtualService(raw);
  if (parsed.ok) throw new Error('expected an invalid VirtualService');
  return parsed.error;
}

describe('parseVirtualService', () => {
  it('parses the seed VirtualService', () => {
    const parsed = parseVirtualService(rawVirtualService({}));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({
      namespace: 'test',
      name: 'podinfo',
      hosts: ['app.example.com', 'podinfo'],
      http: [
        {
          matches: [],
          destinations: [
            { host: 'podinfo', weight: 100, port: 9898 },
            { host: 'podinfo-canary', weight: 0, port: 9898 },
          ],
        },
      ],
    });
  });

  it('gives a lone destination 100% whatever its weight', () => {
    for (const weight of [undefined, 0, 40]) {
      const parsed = parseVirtualService(
        rawVirtualService({
          destinations: [{ host: 'podinfo', ...(weight !== undefined ? { weight } : {}) }],
        }),
      );
      expect(parsed.ok && parsed.value.http[0]?.destinations[0]?.weight).toBe(100);
    }
  });

  it('rejects weights that do not sum to 100, keeping the identity for logging', () => {
    const parsed = parseVirtualService(
      rawVirtualService({
        resourceVersion: '42',
        destinations: [
          { host: 'podinfo', weight: 80 },
          { host: 'podinfo-canary', weight: 10 },
        ],
      }),
    );
    expect(parsed).toEqual({
      ok: false,
      meta: expect.objectContaining({ name: 'podinfo', namespace: 'test', resourceVersion: '42' }),
      error: 'spec.http[0].route: total destination weight 90 != 100',
    });
  });

  it('treats missing weights among several destinations as 0', () => {
    expect(vsError(rawVirtualService({ destinations: [{ host: 'a' }, { host: 'b' }] }))).toContain(
      'total destination weight 0 != 100',
    );
  });

  it.each([
    [
      {
        destinations: [
          { host: 'a', weight: -10 },
          { host: 'b', weight: 110 },
        ],
      },
      'non-negative integer',
    ],
    [
      {
        destinations: [
          { host: 'a', weight: 50.5 },
          { host: 'b', weight: 49.5 },
        ],
      },
      'non-negative integer',
    ],
    [{ hosts: [] }, 'at least one host'],
    [
      { http: [{ match: [{ uri: { regex: '(' } }], route: [{ destination: { host: 'a' } }] }] },
      'invalid regular expression',
    ],
    [
      {
        http: [
          {
            match: [{ uri: { exact: '/', prefix: '/' } }],
            route: [{ destination: { host: 'a' } }],
          },
        ],
      },
      'only one of',
    ],
    [{ http: [{ route: [{ destination: {} }] }] }, 'destination.host: required'],
    [{ http: [{ timeout: '1s' }] }, 'needs route, redirect or directResponse'],
  ])('rejects %j', (options, message) => {
    expect(vsError(rawVirtualService(options))).toContain(message);
  });

  it('parses uri, header, query and method matches', () => {
    const parsed = parseVirtualService(
      rawVirtualService({
        http: [
          {
            match: [
              {
                uri: { prefix: '/api' },
                method: { exact: 'GET' },
                headers: {
                  'X-Canary': { exact: 'always' },
                  cookie: { regex: '.*canary=1.*' },
                  'x-any': {},
                },
                queryParams: { v: { exact: '2' } },
                ignoreUriCase: true,
              },
            ],
            route: [{ destination: { host: 'podinfo-canary' } }],
          },
        ],
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const match = parsed.value.http[0]?.matches[0];
    expect(match?.uri).toEqual({ kind: 'prefix', value: '/api' });
    expect(match?.headers.map((h) => [h.name, h.match.kind])).toEqual([
      ['x-canary', 'exact'],
      ['cookie', 'regex'],
      ['x-any', 'present'],
    ]);
    expect(match?.queryParams).toEqual([{ name: 'v', match: { kind: 'exact', value: '2' } }]);
    expect(match?.ignoreUriCase).toBe(true);
  });

  it('keeps redirect-only routes as routes without destinations', () => {
    const parsed = parseVirtualService(
      rawVirtualService({ http: [{ redirect: { uri: '/new' } }] }),
    );
    expect(parsed.ok && parsed.value.http[0]?.destinations).toEqual([]);
  });

  it('fails without metadata.name', () => {
    expect(parseVirtualService({ spec: {} })).toEqual({
      ok: false,
      meta: undefined,
      error: 'metadata.name missing',
    });
  });
});

describe('parseService', () => {
  it('reads the selector', () => {
    const parsed = parseService(rawService('podinfo'));
    expect(parsed.ok && parsed.value.selector).toEqual({ app: 'podinfo' });
  });

  it('has no selector for ExternalName or an empty selector', () => {
    const external = rawService('ext');
    (external['spec'] as Record<string, unknown>)['type'] = 'ExternalName';
    const parsedExternal = parseService(external);
    expect(parsedExternal.ok && parsedExternal.value.selector).toBeUndefined();
    const parsed = parseService(rawService('none', { selector: {} }));
    expect(parsed.ok && parsed.value.selector).toBeUndefined();
  });
});

describe('parseDeployment', () => {
  it('reads pod labels, image, env, readiness and faults', () => {
    const parsed = parseDeployment(
      rawDeployment('podinfo-canary', {
        image: 'quay.io/stefanprodan/podinfo:1.2.0',
        color: 'green',
        replicas: 3,
        readyReplicas: 2,
        annotations: { 'mesh.steerer.io/error-ratio': '0.3' },
      }),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({
      name: 'podinfo-canary',
      podLabels: { app: 'podinfo-canary' },
      image: 'quay.io/stefanprodan/podinfo:1.2.0',
      env: { PODINFO_UI_COLOR: 'green' },
      replicas: 3,
      readyReplicas: 2,
      faults: { errorRatio: 0.3, latencyMs: 0, errorCode: 500 },
      faultWarnings: [],
    });
    expect(parsed.value.templateHash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
  });

  it('treats absent readyReplicas as 0', () => {
    const parsed = parseDeployment(rawDeployment('podinfo', { readyReplicas: 0 }));
    expect(parsed.ok && parsed.value.readyReplicas).toBe(0);
  });

  it('keeps the template hash stable across status changes and changes it with the template', () => {
    const hash = (raw: unknown): string => {
      const parsed = parseDeployment(raw);
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value.templateHash;
    };
    const base = hash(rawDeployment('podinfo', { readyReplicas: 1 }));
    expect(hash(rawDeployment('podinfo', { readyReplicas: 3, resourceVersion: '9' }))).toBe(base);
    expect(hash(rawDeployment('podinfo', { image: 'podinfo:2.0.0' }))).not.toBe(base);
  });

  it('accepts Date creation timestamps from typed client-node lists', () => {
    const raw = rawDeployment('podinfo');
    (raw['metadata'] as Record<string, unknown>)['creationTimestamp'] = new Date(
      '2026-02-03T04:05:06Z',
    );
    const parsed = parseDeployment(raw);
    expect(parsed.ok && parsed.value.creationTimestamp).toBe('2026-02-03T04:05:06.000Z');
  });
});
