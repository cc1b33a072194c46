import { describe, expect, it } from '@jest/globals';
import { MemoryLogger } from './log.js';
import { decide, lookupHost } from './routing.js';
import { MeshStore } from './store.js';
import {
  constantDraw,
  rawDeployment,
  rawService,
  rawVirtualService,
  request,
} from './test-objects.js';

describe('MeshStore', () => {
  it('builds the routing table from watched objects and rebuilds it after changes', () => {
    const store = new MeshStore(new MemoryLogger());
    store.sink('virtualservices').replace([rawVirtualService({})]);
    store.sink('services').replace([rawService('podinfo'), rawService('podinfo-canary')]);
    store.sink('deployments').replace([rawDeployment('podinfo'), rawDeployment('podinfo-canary')]);
    const first = store.routingTable();
    expect(store.routingTable()).toBe(first); // cached while nothing changes
    expect(decide(first, request('app.example.com'), constantDraw(0.5))).toMatchObject({
      workload: { name: 'podinfo' },
    });

    store.sink('virtualservices').upsert(
      rawVirtualService({
        resourceVersion: '2',
        destinations: [
          { host: 'podinfo', weight: 0 },
          { host: 'podinfo-canary', weight: 100 },
        ],
      }),
    );
    expect(store.routingTable()).not.toBe(first);
    expect(
      decide(store.routingTable(), request('app.example.com'), constantDraw(0.5)),
    ).toMatchObject({
      workload: { name: 'podinfo-canary' },
    });
  });

  it('reports sync per resource after its first list', () => {
    const store = new MeshStore(new MemoryLogger());
    expect(store.synced('services')).toBe(false);
    store.sink('services').replace([]);
    expect(store.synced('services')).toBe(true);
    expect(store.synced('deployments')).toBe(false);
  });

  it('drops objects missing from a relist and on delete events', () => {
    const log = new MemoryLogger();
    const store = new MeshStore(log);
    const sink = store.sink('virtualservices');
    sink.replace([
      rawVirtualService({ name: 'a', hosts: ['a'] }),
      rawVirtualService({ name: 'b', hosts: ['b'] }),
    ]);
    sink.replace([rawVirtualService({ name: 'b', hosts: ['b'] })]);
    expect([...store.routingTable().virtualServices.keys()]).toEqual(['test/b']);
    sink.remove(rawVirtualService({ name: 'b' }));
    expect(store.routingTable().virtualServices.size).toBe(0);
    expect(log.messages('info').filter((m) => m === 'virtualservice deleted')).toHaveLength(2);
  });

  it('treats an invalid VirtualService as not configured, logging once per resourceVersion', () => {
    const log = new MemoryLogger();
    const store = new MeshStore(log);
    const sink = store.sink('virtualservices');
    sink.replace([rawVirtualService({ resourceVersion: '1' })]);
    const bad = rawVirtualService({
      resourceVersion: '2',
      destinations: [
        { host: 'podinfo', weight: 50 },
        { host: 'podinfo-canary', weight: 40 },
      ],
    });
    sink.upsert(bad);
    sink.replace([bad]); // a relist sees the same resourceVersion again
    expect(lookupHost(store.routingTable(), 'app.example.com')).toBeUndefined();
    expect(store.invalidVirtualServices()).toEqual([
      {
        meta: expect.objectContaining({ name: 'podinfo', resourceVersion: '2' }),
        error: expect.stringContaining('90 != 100'),
      },
    ]);
    expect(log.messages('warn')).toEqual(['virtualservice invalid; treated as not configured']);

    sink.upsert(rawVirtualService({ resourceVersion: '3' }));
    expect(store.invalidVirtualServices()).toEqual([]);
    expect(lookupHost(store.routingTable(), 'app.example.com')?.resourceVersion).toBe('3');
  });

  it('logs weight changes but not repeated resourceVersions', () => {
    const log = new MemoryLogger();
    const store = new MeshStore(log);
    const sink = store.sink('virtualservices');
    sink.upsert(rawVirtualService({ resourceVersion: '1' }));
    sink.upsert(rawVirtualService({ resourceVersion: '1' }));
    sink.upsert(
      rawVirtualService({
        resourceVersion: '2',
        destinations: [
          { host: 'podinfo', weight: 90 },
          { host: 'podinfo-canary', weight: 10 },
        ],
      }),
    );
    expect(log.entries.map((e) => [e.msg, e.fields['routes']])).toEqual([
      ['virtualservice added', ['podinfo=100,podinfo-canary=0']],
      ['virtualservice updated', ['podinfo=90,podinfo-canary=10']],
    ]);
  });

  it('logs workload readiness and fault changes, not every status update', () => {
    const log = new MemoryLogger();
    const store = new MeshStore(log);
    const sink = store.sink('deployments');
    sink.upsert(rawDeployment('podinfo', { readyReplicas: 0, resourceVersion: '1' }));
    sink.upsert(rawDeployment('podinfo', { readyReplicas: 0, resourceVersion: '2' }));
    sink.upsert(rawDeployment('podinfo', { readyReplicas: 1, resourceVersion: '3' }));
    sink.upsert(
      rawDeployment('podinfo', {
        readyReplicas: 1,
        resourceVersion: '4',
        annotations: { 'mesh.steerer.io/error-ratio': 'lots' },
      }),
    );
    expect(log.messages()).toEqual([
      'workload added',
      'workload changed',
      'workload changed',
      'fault annotations ignored',
    ]);
  });
});
