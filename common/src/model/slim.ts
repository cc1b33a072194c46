// What the caches keep of each object: the fields the planner, the routers and the webhook
// read, and nothing else. Every Deployment, Service and HPA a controller can see is cached,
// most of them unrelated to any Rollout; the API server sends each whole (status messages,
// timestamps, strategy, kubectl's last-applied copy of the object, …).
//
// Each projection copies exactly the keys of its type in objects.ts, and the key lists are
// checked by the compiler against those types (`Keys<T>`): a field added to a type is
// copied, or the build fails. A field read without being in a type is caught by the test
// that runs the planner, the routers and the webhook's handlers over whole and slimmed
// objects and requires the same decisions (slim.test.ts, and the controller's and
// webhook's own).

import type {
  Deployment,
  DeploymentCondition,
  HorizontalPodAutoscaler,
  KubeObject,
  ObjectMeta,
  Service,
  ServicePort,
} from './objects.js';

/** kubectl's copy of the whole object as last applied: never read, often the largest field. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Every key of T, each exactly once (the compiler checks the list is complete). */
type Keys<T> = { readonly [K in keyof Required<T>]: true };

function pick<T extends object>(from: T | undefined, keys: Keys<T>): T | undefined {
  if (from === undefined || from === null) return undefined;
  const out: Record<string, unknown> = {};
  const src = from as Record<string, unknown>;
  for (const k of Object.keys(keys)) if (src[k] !== undefined) out[k] = src[k];
  return out as T;
}

const META: Keys<ObjectMeta> = {
  name: true,
  namespace: true,
  uid: true,
  resourceVersion: true,
  generation: true,
  creationTimestamp: true,
  deletionTimestamp: true,
  finalizers: true,
  labels: true,
  annotations: true,
  ownerReferences: true,
};

/** An object's metadata: the fields of ObjectMeta, without kubectl's last-applied copy. */
export function slimMetadata<M extends ObjectMeta>(m: M): M {
  const out = (pick<ObjectMeta>(m, META) ?? { name: m.name }) as M;
  if (out.annotations && LAST_APPLIED in out.annotations) {
    // An empty map stays: whether an object has annotations decides how a patch adds one.
    const { [LAST_APPLIED]: _dropped, ...rest } = out.annotations;
    out.annotations = rest;
  }
  return out;
}

/** Any object (Rollouts, route objects, subset objects): its metadata slimmed, the rest kept. */
export function slimObject<T extends KubeObject>(o: T): T {
  return { ...o, metadata: slimMetadata(o.metadata) };
}

/** The kind and version, which say nothing the cache's own kind does not. */
function typeMeta(o: KubeObject): Pick<KubeObject, 'apiVersion' | 'kind'> {
  return {
    ...(o.apiVersion !== undefined ? { apiVersion: o.apiVersion } : {}),
    ...(o.kind !== undefined ? { kind: o.kind } : {}),
  };
}

const DEPLOYMENT_SPEC: Keys<Deployment['spec']> = {
  replicas: true,
  selector: true,
  template: true,
  paused: true,
  progressDeadlineSeconds: true,
};
const DEPLOYMENT_STATUS: Keys<NonNullable<Deployment['status']>> = {
  observedGeneration: true,
  replicas: true,
  updatedReplicas: true,
  readyReplicas: true,
  availableReplicas: true,
  unavailableReplicas: true,
  conditions: true,
};
const DEPLOYMENT_CONDITION: Keys<DeploymentCondition> = {
  type: true,
  status: true,
  reason: true,
  message: true,
};

/** A Deployment as cached: its template whole (it is compared and copied), little else. */
export function slimDeployment(d: Deployment): Deployment {
  const status = pick(d.status, DEPLOYMENT_STATUS);
  if (status?.conditions) {
    status.conditions = status.conditions.map(
      (c) => pick(c, DEPLOYMENT_CONDITION) as DeploymentCondition,
    );
  }
  return {
    ...typeMeta(d),
    metadata: slimMetadata(d.metadata),
    spec: pick(d.spec, DEPLOYMENT_SPEC) as Deployment['spec'],
    ...(status ? { status } : {}),
  };
}

const SERVICE_SPEC: Keys<Service['spec']> = {
  type: true,
  clusterIP: true,
  selector: true,
  ports: true,
};
const SERVICE_PORT: Keys<ServicePort> = {
  name: true,
  port: true,
  protocol: true,
  targetPort: true,
};

/** A Service as cached: its type, address, selector and ports. */
export function slimService(s: Service): Service {
  const spec = pick(s.spec, SERVICE_SPEC) ?? {};
  if (spec.ports) spec.ports = spec.ports.map((p) => pick(p, SERVICE_PORT) as ServicePort);
  return { ...typeMeta(s), metadata: slimMetadata(s.metadata), spec };
}

type HpaStatus = NonNullable<HorizontalPodAutoscaler['status']>;
const HPA_SPEC: Keys<HorizontalPodAutoscaler['spec']> = {
  scaleTargetRef: true,
  minReplicas: true,
  maxReplicas: true,
};
const HPA_STATUS: Keys<HpaStatus> = {
  currentReplicas: true,
  desiredReplicas: true,
  lastScaleTime: true,
  observedGeneration: true,
  conditions: true,
};
const HPA_CONDITION: Keys<NonNullable<HpaStatus['conditions']>[number]> = {
  type: true,
  status: true,
  reason: true,
  message: true,
};

/** An HPA as cached: what it scales, its bounds and what it is doing (no metrics). */
export function slimHpa(h: HorizontalPodAutoscaler): HorizontalPodAutoscaler {
  const status = pick(h.status, HPA_STATUS);
  if (status?.conditions) {
    status.conditions = status.conditions.map(
      (c) => pick(c, HPA_CONDITION) as NonNullable<HpaStatus['conditions']>[number],
    );
  }
  return {
    ...typeMeta(h),
    metadata: slimMetadata(h.metadata),
    spec: pick(h.spec, HPA_SPEC) as HorizontalPodAutoscaler['spec'],
    ...(status ? { status } : {}),
  };
}

/**
 * What the cache keeps of an object no Rollout refers to: its key and resourceVersion.
 * Nothing reads it until a Rollout names it; the controller then fetches it whole once.
 */
export function skeletonOf<T extends KubeObject>(o: T): T {
  const m = o.metadata;
  return {
    metadata: {
      name: m.name,
      ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
      ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    },
  } as T;
}
