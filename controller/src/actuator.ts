// Carries out the planner's actions and status with the fewest, safest writes: JSON
// patches guarded by `test` operations, status through the /status subresource with
// the resourceVersion it was planned from (so a stale plan fails with 409), and nothing
// at all when the object already looks right. Every action carries what it needs; the
// actuator decides nothing and reads no cache.

import {
  ANNOTATIONS,
  FINALIZER,
  LABELS,
  ROLLOUT,
  formatScaledDownFrom,
  escapePointer,
  jsonEqual,
  resourcePath,
  routerFor,
} from '@steerer/common';
import type {
  Deployment,
  JsonPatchOp,
  KubeClient,
  KubeObject,
  RolloutObject,
  RolloutStatus,
} from '@steerer/common';
import type { CacheKind } from './cluster.js';
import { routeRefKind } from './ref-index.js';
import type { Action } from './planner/types.js';

/** The Rollout an action belongs to. */
export interface RolloutRef {
  namespace: string;
  name: string;
}

/** Where the actuator writes to: the API server, and the cache that remembers its writes. */
export interface ActuatorDeps {
  client: KubeClient;
  /** The served version of a router's resource (discovered at start). */
  versionOf(routerKind: string): string | undefined;
  recordWrite(kind: CacheKind, obj: KubeObject): void;
}

function deploymentPath(ns: string, name: string): string {
  return resourcePath({ group: 'apps', version: 'v1', plural: 'deployments', namespace: ns, name });
}

export class Actuator {
  constructor(private readonly d: ActuatorDeps) {}

  /** Writes status when it differs; returns the updated Rollout, or undefined if unchanged. */
  async writeStatus(r: RolloutObject, status: RolloutStatus): Promise<RolloutObject | undefined> {
    if (jsonEqual(r.status ?? {}, status)) return undefined;
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
    const updated = await this.d.client.replace<RolloutObject>(path, body);
    this.d.recordWrite('rollout', updated);
    return updated;
  }

  /** Carries out one action of the Rollout `r`. */
  async apply(a: Action, r: RolloutRef): Promise<void> {
    const ns = r.namespace;
    switch (a.kind) {
      case 'setWeights':
        return this.setWeights(a, ns);
      case 'scaleCanary': {
        const body: Record<string, unknown> = { spec: { replicas: a.replicas } };
        if (a.remember !== undefined)
          body.metadata = {
            annotations: { [ANNOTATIONS.scaledDownFrom]: formatScaledDownFrom(a.remember) },
          };
        return this.patchDeployment(ns, a.name, 'merge', body);
      }
      case 'promote':
        return this.patchDeployment(ns, a.name, 'json', [
          { op: 'test', path: '/metadata/resourceVersion', value: a.resourceVersion },
          { op: 'replace', path: '/spec/template', value: a.template },
        ]);
      case 'labelTargets':
        for (const t of a.targets) {
          await this.patchDeployment(ns, t.name, 'merge', {
            metadata: { labels: { [LABELS.rollout]: a.rollout, [LABELS.role]: t.role } },
          });
        }
        return;
      case 'addFinalizer':
        return this.patchRollout(
          r,
          a.first
            ? [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }]
            : [{ op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }],
        );
      case 'removeFinalizer': {
        const path = `/metadata/finalizers/${a.index}`;
        return this.patchRollout(r, [
          { op: 'test', path, value: FINALIZER },
          { op: 'remove', path },
        ]);
      }
      case 'ackRequest': {
        const path = `/metadata/annotations/${escapePointer(ANNOTATIONS.request)}`;
        return this.patchRollout(r, [
          { op: 'test', path, value: a.value },
          { op: 'remove', path },
        ]);
      }
    }
  }

  /**
   * A JSON patch of the Rollout's own metadata (its finalizer, a handled request). Guarded
   * by `test` operations; a request replaced meanwhile fails the patch and is handled next.
   */
  private async patchRollout(r: RolloutRef, ops: JsonPatchOp[]): Promise<void> {
    const path = resourcePath({
      group: ROLLOUT.group,
      version: ROLLOUT.version,
      plural: ROLLOUT.plural,
      namespace: r.namespace,
      name: r.name,
    });
    const updated = await this.d.client.patch<RolloutObject>(path, 'json', ops);
    this.d.recordWrite('rollout', updated);
  }

  private async setWeights(a: Extract<Action, { kind: 'setWeights' }>, ns: string): Promise<void> {
    if (a.ops.length === 0) return;
    const router = routerFor(a.route.kind);
    const version = this.d.versionOf(a.route.kind);
    if (!router || !version) throw new Error(`no served version of ${a.route.kind} is known`);
    const path = resourcePath({
      group: router.group,
      version,
      plural: router.resource,
      namespace: ns,
      name: a.route.name,
    });
    const updated = await this.d.client.patch<KubeObject>(path, 'json', a.ops);
    this.d.recordWrite(routeRefKind(router.kind), updated);
  }

  private async patchDeployment(
    ns: string,
    name: string,
    type: 'json' | 'merge',
    body: unknown,
  ): Promise<void> {
    const updated = await this.d.client.patch<Deployment>(deploymentPath(ns, name), type, body);
    this.d.recordWrite('deployment', updated);
  }
}
