// Generated apps for the scale benchmark: the shapes of test/src/e2e/apps.ts (primary and
// canary Deployments with one replica, their ClusterIP Services, a VirtualService 100/0,
// a Rollout), with pods pinned to the benchmark's own kwok node so thousands of them never
// crowd the nodes other suites use. An idle app's canary runs the primary's template and
// is scaled to zero, as after a promotion; a progressing app's canary carries a new image.
// Services are headless (type ClusterIP, clusterIP None): the local cluster's service range
// (a /24 shared by every suite) holds 254 addresses, not 2,000, and nothing here routes by
// IP; Steerer checks the type and the port name, and caches the same objects either way.

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
}

const IMAGE = 'quay.io/stefanprodan/podinfo';

function deployment(ns: string, name: string, image: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  labels:
    app: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      nodeSelector:
        steerer.io/bench: "true"
      tolerations:
      - key: steerer.io/bench
        operator: Exists
        effect: NoSchedule
      containers:
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

function service(ns: string, name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  type: ClusterIP
  clusterIP: None
  selector:
    app: ${name}
  ports:
  - name: http
    port: 9898
    targetPort: http
`;
}

/** Deployments, Services and the VirtualService of one app. */
export function appWorkloads(a: ScaleApp): string {
  const ns = a.namespace;
  const progressing = a.role === 'progressing';
  return [
    deployment(ns, a.name, `${IMAGE}:1.0.0`, 1),
    service(ns, a.name),
    deployment(
      ns,
      `${a.name}-canary`,
      `${IMAGE}:${progressing ? '2.0.0' : '1.0.0'}`,
      progressing ? 1 : 0,
    ),
    service(ns, `${a.name}-canary`),
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${a.name}
  namespace: ${ns}
spec:
  hosts:
  - ${a.name}.${ns}.example.com
  http:
  - route:
    - destination:
        host: ${a.name}
        port:
          number: 9898
      weight: 100
    - destination:
        host: ${a.name}-canary
        port:
          number: 9898
      weight: 0
`,
  ].join('---\n');
}

export function appRollout(a: ScaleApp, stepWeight: number): string {
  return `apiVersion: apps.weave.works/v1beta1
kind: Rollout
metadata:
  name: ${a.name}
  namespace: ${a.namespace}
  labels:
    ${ROLE_LABEL}: ${a.role}
spec:
  targetKind: Deployment
  primary:
    name: ${a.name}
    host: ${a.name}
  canary:
    name: ${a.name}-canary
    host: ${a.name}-canary
  virtualService:
    name: ${a.name}
    weight: ${stepWeight}
  metric:
    type: counter
    name: istio_requests_total
    interval: 1m
    threshold: 99
`;
}
