// Generated apps for the scale benchmark: test/src/e2e/apps.ts's apps (primary and canary
// Deployments with one replica, their ClusterIP Services, a VirtualService 100/0, a
// Rollout), with pods pinned to the benchmark's own kwok node so thousands of them never
// crowd the nodes other suites use. An idle app's canary runs the primary's template and
// is scaled to zero, as after a promotion; a progressing app's canary carries a new image.
// Services are headless (type ClusterIP, clusterIP None): the local cluster's service range
// (a /24 shared by every suite) holds 254 addresses, not 2,000, and nothing here routes by
// IP; Steerer checks the type and the port name, and caches the same objects either way.

import { appManifests, rolloutManifest } from '@steerer/test/e2e/apps';
import type { AppOptions } from '@steerer/test/e2e/apps';

export const BENCH_NODE = 'bench-kwok-0';
export const ROLE_LABEL = 'bench.steerer.io/role';

/** A kwok node of our own, tainted so only the benchmark's pods land on it. */
export function benchNode(): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: ${BENCH_NODE}
  labels:
    type: kwok
    steerer.io/bench: "true"
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
spec:
  taints:
  - key: steerer.io/bench
    value: "true"
    effect: NoSchedule
status:
  allocatable: {cpu: "1000", memory: 4Ti, pods: "5000"}
  capacity: {cpu: "1000", memory: 4Ti, pods: "5000"}
`;
}

export type Role = 'idle' | 'progressing';

export interface ScaleApp {
  namespace: string;
  name: string;
  role: Role;
  /** The route object the Rollout names (default VirtualService). */
  router?: 'VirtualService' | 'HTTPRoute';
  /**
   * false: an idle app without pods (its primary scaled to zero too), for sizes the local
   * cluster cannot run pods for; Steerer caches and initialises it the same way.
   */
  pods?: boolean;
}

const IMAGE = 'quay.io/stefanprodan/podinfo';

/**
 * Objects labelled `mesh.steerer.io/simulate: "false"` are outside the simulated mesh: the
 * mesh simulators (the benchmark's and the cluster's, hack/cluster-up.sh) read only objects
 * matching MESH_SELECTOR, as Istio reads only what its discovery selectors take in. Ten
 * thousand idle apps without pods then cost the simulators, and the API server serving
 * them, nothing.
 */
export const NO_MESH_LABEL = 'mesh.steerer.io/simulate';
export const MESH_SELECTOR = `${NO_MESH_LABEL}!=false`;

function options(a: ScaleApp, stepWeight = 10): AppOptions {
  const progressing = a.role === 'progressing';
  return {
    namespace: a.namespace,
    name: a.name,
    image: `${IMAGE}:1.0.0`,
    canaryImage: `${IMAGE}:${progressing ? '2.0.0' : '1.0.0'}`,
    replicas: a.pods === false && !progressing ? 0 : 1,
    canaryReplicas: progressing ? 1 : 0,
    pinTo: { key: 'steerer.io/bench', value: 'true' },
    headless: true,
    stepWeight,
    interval: '1m',
    threshold: 99,
    rolloutLabels: { [ROLE_LABEL]: a.role },
    // An app without pods has no traffic: outside the simulated mesh (MESH_SELECTOR).
    ...(a.pods === false && !progressing ? { objectLabels: { [NO_MESH_LABEL]: 'false' } } : {}),
    ...(a.router ? { router: a.router } : {}),
  };
}

/** Deployments, Services and the route object of one app. */
export function appWorkloads(a: ScaleApp): string {
  return appManifests(options(a));
}

export function appRollout(a: ScaleApp, stepWeight: number): string {
  return rolloutManifest(options(a, stepWeight));
}
