// Carries out the planner's actions and status with the fewest, safest writes: JSON
// patches guarded by `test` operations, status through the /status subresource with
// the resourceVersion it was planned from (so a stale plan fails with 409), and nothing
// at all when the object already looks right.

import {
  ANNOTATIONS,
  ISTIO_GROUP,
  LABELS,
  ROLLOUT,
  canonicalJson,
  checkRoutes,
  resourcePath,
  weightAnnotationOps,
  weightPatch,
} from '@steerer/common';
import type {
  Deployment,
  KubeClient,
  RolloutObject,
  RolloutSpec,
  RolloutStatus,
  VirtualService,
} from '@steerer/common';
import type { Cluster } from './cluster.js';
import type { Action, Observed } from './planner/types.js';

export class Actuator {
  constructor(
    private readonly client: KubeClient,
    private readonly cluster: Cluster,
  ) {}

  private deploymentPath(ns: string, name: string): string {
    return resourcePath({
      group: 'apps',
      version: 'v1',
      plural: 'deployments',
      namespace: ns,
      name,
    });
  }

  /** Writes status when it differs; returns the updated Rollout, or undefined if unchanged. */
  async writeStatus(r: RolloutObject, status: RolloutStatus): Promise<RolloutObject | undefined> {
    if (canonicalJson(r.status ?? {}) === canonicalJson(status)) return undefined;
    const path = resourcePath({
      group: ROLLOUT.group,
      version: ROLLOUT.version,
      plural: ROLLOUT.plural,
      namespace: r.metadata.namespace,
      name: r.metadata.name,
      subresource: 'status',
    });
    const body = {
      apiVersion: `${ROLLOUT.group}/${ROLLOUT.version}`,
      kind: ROLLOUT.kind,
      metadata: {
        name: r.metadata.name,
        namespace: r.metadata.namespace,
        resourceVersion: r.metadata.resourceVersion,
      },
      spec: r.spec,
      status,
    };
    const updated = await this.client.replace<RolloutObject>(path, body);
    this.cluster.recordWrite('rollout', updated);
    return updated;
  }

  async apply(a: Action, r: RolloutObject, spec: RolloutSpec, observed: Observed): Promise<void> {
    const ns = r.metadata.namespace;
    switch (a.kind) {
      case 'setWeights': {
        const vs = observed.virtualService;
        if (!vs) return;
        const routes = checkRoutes(vs, spec.primary.host, spec.canary.host);
        if (!routes.ok) return;
        const want = { primary: a.primary, canary: a.canary };
        const ops = weightPatch(vs, routes.routes, want);
        if (ops.length === 0) return;
        ops.push(...weightAnnotationOps(vs, ANNOTATIONS.weights, want));
        const path = resourcePath({
          group: ISTIO_GROUP,
          version: this.cluster.vsVersion,
          plural: 'virtualservices',
          namespace: ns,
          name: vs.metadata.name,
        });
        const updated = await this.client.patch<VirtualService>(path, 'json', ops);
        this.cluster.recordWrite('virtualservice', updated);
        return;
      }
      case 'scaleCanary': {
        const canary = observed.canary;
        if (!canary || canary.spec.replicas === a.replicas) return;
        const body: Record<string, unknown> = { spec: { replicas: a.replicas } };
        if (a.remember !== undefined)
          body.metadata = { annotations: { [ANNOTATIONS.scaledDownFrom]: String(a.remember) } };
        const updated = await this.client.patch<Deployment>(
          this.deploymentPath(ns, canary.metadata.name),
          'merge',
          body,
        );
        this.cluster.recordWrite('deployment', updated);
        return;
      }
      case 'promote': {
        const primary = observed.primary;
        if (!primary) return;
        const updated = await this.client.patch<Deployment>(
          this.deploymentPath(ns, primary.metadata.name),
          'json',
          [
            {
              op: 'test',
              path: '/metadata/resourceVersion',
              value: primary.metadata.resourceVersion,
            },
            { op: 'replace', path: '/spec/template', value: a.template },
          ],
        );
        this.cluster.recordWrite('deployment', updated);
        return;
      }
      case 'labelTargets': {
        for (const [want, d, role] of [
          [a.primary, observed.primary, 'primary'],
          [a.canary, observed.canary, 'canary'],
        ] as const) {
          if (!want || !d) continue;
          const updated = await this.client.patch<Deployment>(
            this.deploymentPath(ns, d.metadata.name),
            'merge',
            {
              metadata: { labels: { [LABELS.rollout]: r.metadata.name, [LABELS.role]: role } },
            },
          );
          this.cluster.recordWrite('deployment', updated);
        }
        return;
      }
    }
  }
}
