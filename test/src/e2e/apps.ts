// Generated podinfo-like apps (primary + canary + Services + VirtualService + Rollout),
// for suites that need many rollouts at once. Same shapes as the seed's manifests.

export interface AppOptions {
  namespace: string;
  name: string;
  image: string;
  /** Canary image; defaults to the primary's (the Rollout starts Initialized). */
  canaryImage?: string;
  stepWeight?: number;
  interval?: string;
  threshold?: number;
  replicas?: number;
  /** The canary's replicas; defaults to `replicas` (0: as after a promotion). */
  canaryReplicas?: number;
  /** Pods only on nodes with this label, tolerating the same key as a NoSchedule taint. */
  pinTo?: { key: string; value: string };
  /** Headless Services (still type ClusterIP): no ClusterIP taken from the service range. */
  headless?: boolean;
  /** Labels on the Rollout. */
  rolloutLabels?: Record<string, string>;
  /** The route object: the seed's VirtualService (default), or a Gateway API HTTPRoute. */
  router?: 'VirtualService' | 'HTTPRoute';
  /** Labels on the Deployments, Services and route object (besides the Deployments' app). */
  objectLabels?: Record<string, string>;
}

type Placement = AppOptions['pinTo'];

function placement(pin: Placement): string {
  if (!pin) return '';
  return `      nodeSelector:
        ${pin.key}: "${pin.value}"
      tolerations:
      - key: ${pin.key}
        operator: Exists
        effect: NoSchedule
`;
}

function deployment(
  ns: string,
  name: string,
  app: string,
  image: string,
  replicas: number,
  pin?: Placement,
  extraLabels?: Record<string, string>,
): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    app: ${app}
${labelLines(extraLabels)}spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${app}
  template:
    metadata:
      labels:
        app: ${app}
    spec:
${placement(pin)}      containers:
      - name: podinfod
        image: ${image}
        ports:
        - containerPort: 9898
          name: http
        resources:
          requests:
            cpu: 1m
            memory: 16Mi
`;
}

function service(
  ns: string,
  name: string,
  app: string,
  headless = false,
  labels?: Record<string, string>,
): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}
${labelsBlock(labels)}spec:
  type: ClusterIP
${headless ? '  clusterIP: None\n' : ''}  selector:
    app: ${app}
  ports:
  - name: http
    port: 9898
    targetPort: http
`;
}

export function appHost(o: { namespace: string; name: string }): string {
  return `${o.name}.${o.namespace}.example.com`;
}

export function canaryDeployment(o: AppOptions, image: string): string {
  return deployment(o.namespace, `${o.name}-canary`, `${o.name}-canary`, image, o.replicas ?? 1);
}

function labelLines(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `    ${k}: "${v}"\n`)
    .join('');
}

function labelsBlock(labels: Record<string, string> | undefined): string {
  const lines = labelLines(labels);
  return lines === '' ? '' : `  labels:\n${lines}`;
}

export function rolloutManifest(o: AppOptions): string {
  return `apiVersion: apps.weave.works/v1beta1
kind: Rollout
metadata:
  name: ${o.name}
  namespace: ${o.namespace}
${labelsBlock(o.rolloutLabels)}spec:
  targetKind: Deployment
  primary:
    name: ${o.name}
    host: ${o.name}
  canary:
    name: ${o.name}-canary
    host: ${o.name}-canary
  ${o.router === 'HTTPRoute' ? 'httpRoute' : 'virtualService'}:
    name: ${o.name}
    weight: ${o.stepWeight ?? 10}
  metric:
    type: counter
    name: istio_requests_total
    interval: ${o.interval ?? '1m'}
    threshold: ${o.threshold ?? 99}
`;
}

/** Everything but the Rollout, as one multi-document YAML. */
export function appManifests(o: AppOptions): string {
  const ns = o.namespace;
  const r = o.replicas ?? 1;
  const canary = `${o.name}-canary`;
  const labels = o.objectLabels;
  return [
    deployment(ns, o.name, o.name, o.image, r, o.pinTo, labels),
    service(ns, o.name, o.name, o.headless, labels),
    deployment(
      ns,
      canary,
      canary,
      o.canaryImage ?? o.image,
      o.canaryReplicas ?? r,
      o.pinTo,
      labels,
    ),
    service(ns, canary, canary, o.headless, labels),
    o.router === 'HTTPRoute'
      ? httpRouteManifest(o)
      : `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${o.name}
  namespace: ${ns}
${labelsBlock(labels)}spec:
  hosts:
  - ${appHost(o)}
  http:
  - route:
    - destination:
        host: ${o.name}
        port:
          number: 9898
      weight: 100
    - destination:
        host: ${o.name}-canary
        port:
          number: 9898
      weight: 0
`,
  ].join('---\n');
}

/** The Gateway the suites' HTTPRoutes attach to (Istio's Gateway API class). */
export const GATEWAY = 'public';

export function gatewayManifest(ns: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${GATEWAY}
  namespace: ${ns}
spec:
  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Same
`;
}

/**
 * The app's HTTPRoute, attached to the Gateway for the app's host: an unrelated rule first
 * (/admin to the primary only, with a filter and a timeout, which Steerer must never
 * touch), then the split between the primary and the canary at the given weights.
 */
export function httpRouteManifest(o: AppOptions, weights: [number, number] = [100, 0]): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${o.name}
  namespace: ${o.namespace}
${labelsBlock(o.objectLabels)}spec:
  parentRefs:
  - name: ${GATEWAY}
    sectionName: http
  hostnames:
  - ${appHost(o)}
  rules:
  - name: admin
    matches:
    - path:
        type: PathPrefix
        value: /admin
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        add:
        - name: x-admin
          value: "1"
    backendRefs:
    - name: ${o.name}
      port: 9898
    timeouts:
      request: 10s
  - name: split
    backendRefs:
    - name: ${o.name}
      port: 9898
      weight: ${weights[0]}
    - name: ${o.name}-canary
      port: 9898
      weight: ${weights[1]}
`;
}

export function namespaceManifest(ns: string): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${ns}
`;
}
