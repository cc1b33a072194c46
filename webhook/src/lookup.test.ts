import { describe, expect, it } from '@jest/globals';
import { ErrorCode, SteererError, silentLogger } from '@steerer/common';
import type { KubeClient, RolloutObject } from '@steerer/common';
import { ClusterLookup } from './lookup.js';
import { rollout } from './testing.js';

/** Just enough of KubeClient for an informer and direct GETs. */
class FakeClient {
  readonly gets: string[] = [];
  private emit: ((ev: { type: string; object: unknown }) => void) | undefined;
  constructor(
    private readonly items: RolloutObject[],
    private readonly answers: Record<string, unknown>,
  ) {}
  list(): Promise<unknown> {
    return Promise.resolve({
      metadata: { resourceVersion: '10' },
      items: structuredClone(this.items),
    });
  }
  watch(
    _path: string,
    _query: unknown,
    onEvent: (ev: { type: string; object: unknown }) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.emit = onEvent;
    return new Promise((resolve) =>
      signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
  send(type: string, object: unknown): void {
    this.emit?.({ type, object });
  }
  get(path: string): Promise<unknown> {
    this.gets.push(path);
    const a = this.answers[path];
    if (a instanceof Error) return Promise.reject(a);
    if (a === undefined)
      return Promise.reject(
        new SteererError(ErrorCode.Api, `GET ${path}: HTTP 404 NotFound`, { status: 404 }),
      );
    return Promise.resolve(a);
  }
}

const ISTIO = '/apis/networking.istio.io';

async function started(
  client: FakeClient,
): Promise<{ lookup: ClusterLookup; stop: AbortController }> {
  const lookup = new ClusterLookup({
    client: client as unknown as KubeClient,
    logger: silentLogger,
    timeoutMs: 1000,
    // Discovery of kinds this fake does not serve retries forever: yield to the event loop.
    sleep: () => new Promise((r) => setImmediate(r)),
  });
  const stop = new AbortController();
  void lookup.run(stop.signal);
  await lookup.informer.waitForSync(stop.signal);
  for (let i = 0; i < 10 && !lookup.versionOf('VirtualService'); i++)
    await new Promise((r) => setImmediate(r));
  return { lookup, stop };
}

const other = (name: string, namespace: string): RolloutObject => ({
  ...rollout({ name }),
  metadata: { name, namespace },
});

describe('ClusterLookup', () => {
  it('indexes cached Rollouts by namespace and follows watch events', async () => {
    const client = new FakeClient([rollout(), other('a', 'elsewhere')], {
      [ISTIO]: { versions: [{ version: 'v1' }] },
      [`${ISTIO}/v1`]: { resources: [{ name: 'virtualservices' }, { name: 'destinationrules' }] },
    });
    const { lookup, stop } = await started(client);
    expect(lookup.hasSynced()).toBe(true);
    expect((await lookup.rollouts('test')).map((r) => r.metadata.name)).toEqual(['podinfo']);
    expect((await lookup.rollout('elsewhere', 'a'))?.metadata.name).toBe('a');
    client.send('ADDED', {
      ...other('b', 'test'),
      metadata: { name: 'b', namespace: 'test', resourceVersion: '11' },
    });
    expect((await lookup.rollouts('test')).map((r) => r.metadata.name)).toEqual(['podinfo', 'b']);
    client.send('DELETED', {
      ...other('a', 'elsewhere'),
      metadata: { name: 'a', namespace: 'elsewhere', resourceVersion: '12' },
    });
    expect(await lookup.rollouts('elsewhere')).toEqual([]);
    // Discovery only, once for VirtualServices and once for DestinationRules (the Gateway
    // API group is not served here and is retried).
    expect(client.gets.filter((g) => g.startsWith(ISTIO)).sort()).toEqual([
      ISTIO,
      ISTIO,
      `${ISTIO}/v1`,
      `${ISTIO}/v1`,
    ]);
    stop.abort();
  });

  it('reads Deployments, Services and VirtualServices directly; 404 is undefined', async () => {
    const client = new FakeClient([], {
      [ISTIO]: { versions: [{ version: 'v1beta1' }, { version: 'v1alpha3' }] },
      [`${ISTIO}/v1beta1`]: { resources: [{ name: 'virtualservices' }] },
      '/apis/apps/v1/namespaces/test/deployments/podinfo': { metadata: { name: 'podinfo' } },
      '/api/v1/namespaces/test/services/podinfo': { metadata: { name: 'podinfo' } },
      '/apis/networking.istio.io/v1beta1/namespaces/test/virtualservices/podinfo': {
        metadata: { name: 'podinfo' },
      },
    });
    const { lookup, stop } = await started(client);
    expect(lookup.versionOf('VirtualService')).toBe('v1beta1');
    expect((await lookup.deployment('test', 'podinfo'))?.metadata.name).toBe('podinfo');
    expect(await lookup.deployment('test', 'nope')).toBeUndefined();
    expect((await lookup.service('test', 'podinfo'))?.metadata.name).toBe('podinfo');
    expect((await lookup.route('VirtualService', 'test', 'podinfo'))?.metadata.name).toBe(
      'podinfo',
    );
    stop.abort();
  });

  it('lists the DestinationRules of a namespace once their kind is discovered', async () => {
    const client = new FakeClient([], {
      [ISTIO]: { versions: [{ version: 'v1' }] },
      [`${ISTIO}/v1`]: { resources: [{ name: 'virtualservices' }, { name: 'destinationrules' }] },
      [`${ISTIO}/v1/namespaces/test/destinationrules`]: {
        items: [{ metadata: { name: 'podinfo' }, spec: { host: 'podinfo' } }],
      },
    });
    const { lookup, stop } = await started(client);
    for (let i = 0; i < 10 && !lookup.versionOf('subsets:VirtualService'); i++)
      await new Promise((r) => setImmediate(r));
    expect(await lookup.subsetRules('VirtualService', 'test')).toEqual([
      { metadata: { name: 'podinfo' }, spec: { host: 'podinfo' } },
    ]);
    await expect(lookup.subsetRules('HTTPRoute', 'test')).rejects.toThrow(
      'the API server serves no known subset (yet)',
    );
    stop.abort();
  });

  it('rethrows errors other than 404', async () => {
    const client = new FakeClient([], {
      [ISTIO]: { versions: [{ version: 'v1' }] },
      '/api/v1/namespaces/test/services/x': new SteererError(ErrorCode.Api, 'forbidden', {
        status: 403,
      }),
    });
    const { lookup, stop } = await started(client);
    await expect(lookup.service('test', 'x')).rejects.toThrow('forbidden');
    stop.abort();
  });

  it('cannot read VirtualServices while Istio is not installed', async () => {
    const client = new FakeClient([], {});
    const lookup = new ClusterLookup({
      client: client as unknown as KubeClient,
      logger: silentLogger,
      timeoutMs: 1000,
      sleep: () => new Promise(() => undefined),
    });
    const stop = new AbortController();
    void lookup.run(stop.signal);
    await lookup.informer.waitForSync(stop.signal);
    await expect(lookup.route('VirtualService', 'test', 'podinfo')).rejects.toThrow(
      /serves no networking.istio.io VirtualService/,
    );
    stop.abort();
  });
});
