import { describe, expect, it } from '@jest/globals';
import type { Deployment, Service } from './objects.js';
import { LAST_APPLIED, skeletonOf, slimDeployment, slimMetadata, slimService } from './slim.js';

describe('slim projections', () => {
  it("keeps ObjectMeta's fields, without kubectl's last-applied copy", () => {
    const m = {
      name: 'a',
      namespace: 'ns',
      resourceVersion: '7',
      labels: { x: 'y' },
      annotations: { [LAST_APPLIED]: '{"huge":true}', keep: 'me' },
      managedFields: [{ manager: 'kubectl' }],
      selfLink: '/x',
    };
    expect(slimMetadata(m)).toEqual({
      name: 'a',
      namespace: 'ns',
      resourceVersion: '7',
      labels: { x: 'y' },
      annotations: { keep: 'me' },
    });
    // An object whose only annotation was kubectl's still has annotations (patches add to them).
    expect(slimMetadata({ name: 'b', annotations: { [LAST_APPLIED]: '{}' } })).toEqual({
      name: 'b',
      annotations: {},
    });
  });

  it('keeps a Deployment template whole, and only the read parts of its status', () => {
    const template = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c' }] } };
    const d = {
      metadata: { name: 'a', namespace: 'ns' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'a' } }, template, strategy: {} },
      status: {
        availableReplicas: 2,
        collisionCount: 1,
        conditions: [{ type: 'Progressing', status: 'True', lastUpdateTime: 'x' }],
      },
    } as unknown as Deployment;
    expect(slimDeployment(d)).toEqual({
      metadata: { name: 'a', namespace: 'ns' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'a' } }, template },
      status: { availableReplicas: 2, conditions: [{ type: 'Progressing', status: 'True' }] },
    });
  });

  it('keeps a Service type, address, selector and named ports', () => {
    const s = {
      metadata: { name: 's' },
      spec: {
        type: 'ClusterIP',
        clusterIP: 'None',
        clusterIPs: ['None'],
        selector: { app: 'a' },
        ports: [{ name: 'http', port: 80, targetPort: 'http', appProtocol: 'h2c' }],
      },
      status: {},
    } as unknown as Service;
    expect(slimService(s)).toEqual({
      metadata: { name: 's' },
      spec: {
        type: 'ClusterIP',
        clusterIP: 'None',
        selector: { app: 'a' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    });
  });

  it('keeps only the key and resourceVersion of an object no Rollout names', () => {
    const d = slimDeployment({
      metadata: { name: 'a', namespace: 'ns', resourceVersion: '3', uid: 'u' },
      spec: { selector: {}, template: {} },
    });
    expect(skeletonOf(d)).toEqual({
      metadata: { name: 'a', namespace: 'ns', resourceVersion: '3' },
    });
  });
});
