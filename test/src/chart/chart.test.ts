// The Helm chart, rendered by the pinned helm with the seed's exact install values (plus
// the image, which has no default): lint, least-privilege RBAC, hardened pods, values
// wired into the processes' flags and environment, schema errors that name the field, no
// install without an image, webhook configurations identical to the webhook's own, and
// the Rollout CRD's validation rules. Needs the helm that `npm run cluster:up`
// (hack/build-tools.sh) builds; no cluster.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { DURATION_PATTERN, FAILURE_REASONS, PHASES, validateRolloutSpec } from '@steerer/common';
import {
  INVALID_ROLLOUT_CASES,
  VALID_ROLLOUT_CASES,
  specWith,
} from '@steerer/common/testing/rollout-cases';
import type { Rendered, RunResult } from './helm.js';
import {
  CHART,
  IMAGE_REPOSITORY,
  IMAGE_SET,
  IMAGE_TAG,
  KUBE_VERSION,
  NO_IMAGE_MESSAGE,
  REPO,
  SEED_SET,
  findObject,
  helm,
  parseManifests,
  renderChart,
} from './helm.js';

const NS = 'istio-system';
/** The seed's install values plus the image every install must name. */
const INSTALL = [...SEED_SET, ...IMAGE_SET];

interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name?: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}

interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  affinity?: {
    podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: unknown[] };
  };
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
}

interface Workload extends Rendered {
  spec: {
    replicas: number;
    strategy?: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

interface Webhook {
  name: string;
  clientConfig: { url?: string; caBundle?: string; service?: Record<string, unknown> };
  failurePolicy: string;
  timeoutSeconds: number;
  namespaceSelector?: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  [field: string]: unknown;
}

type Json = Record<string, unknown>;

interface WebhookModule {
  webhookConfigurations(o: {
    name: string;
    target: { url: string } | { service: { namespace: string; name: string; port?: number } };
    routers?: readonly string[];
  }): { mutating: Json; validating: Json };
  WEBHOOK_NAMES: Record<
    | 'deployments'
    | 'rollouts'
    | 'virtualservices'
    | 'httproutes'
    | 'virtualservices-weights'
    | 'httproutes-weights',
    string
  >;
}

type FlagModule = Record<string, Record<string, unknown>>;

/**
 * The processes' own modules, loaded from source through jest's module mapping. The
 * specifier is a variable so the test project need not reference those projects.
 */
async function load<T>(specifier: string): Promise<T> {
  return (await import(specifier)) as T;
}

function workload(objects: Rendered[], name: string): Workload {
  return findObject(objects, 'Deployment', name) as Workload;
}

function container(objects: Rendered[], deployment: string): Container {
  const c = workload(objects, deployment).spec.template.spec.containers[0];
  if (!c) throw new Error(`${deployment} has no container`);
  return c;
}

/** A container's args split at its script: [script and its flags, Node's flags before it]. */
function scriptArgs(args: string[]): [string[], string[]] {
  const i = args.findIndex((a) => a.endsWith('.js'));
  return [args.slice(i), args.slice(0, i)];
}

function webhooksOf(objects: Rendered[], kind: string): Webhook[] {
  return (findObject(objects, kind, 'steerer-webhook') as Rendered & { webhooks: Webhook[] })
    .webhooks;
}

function rules(objects: Rendered[], kind: string, name: string): Rule[] {
  return (findObject(objects, kind, name) as Rendered & { rules: Rule[] }).rules;
}

/** Each leaf of values.yaml (or free-form map, e.g. nodeSelector) with its schema node. */
function valuePaths(
  values: unknown,
  schema: Json,
  path: string[] = [],
): { path: string; schema: Json }[] {
  const properties = schema.properties as Record<string, Json> | undefined;
  if (values === null || typeof values !== 'object' || Array.isArray(values) || !properties) {
    return [{ path: path.join('.'), schema }];
  }
  return Object.entries(values as Json).flatMap(([k, v]) => {
    const child = properties[k];
    if (!child) throw new Error(`values.schema.json does not describe ${[...path, k].join('.')}`);
    return valuePaths(v, child, [...path, k]);
  });
}

let seed: Rendered[];

beforeAll(async () => {
  seed = await renderChart(INSTALL, NS);
});

describe('the chart with the seed install values', () => {
  it('passes helm lint', async () => {
    const r = await helm([
      'lint',
      CHART,
      '--strict',
      `--namespace=${NS}`,
      '--kube-version',
      KUBE_VERSION,
      ...INSTALL,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it('renders every object Steerer needs, in the release namespace', () => {
    const names = seed.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names).toEqual(
      [
        'ClusterRole/steerer-controller',
        'ClusterRole/steerer-webhook',
        'ClusterRoleBinding/steerer-controller',
        'ClusterRoleBinding/steerer-webhook',
        'Deployment/steerer-controller',
        'Deployment/steerer-webhook',
        'Lease/steerer-controller',
        'MutatingWebhookConfiguration/steerer-webhook',
        'PodDisruptionBudget/steerer-webhook',
        'Role/steerer-controller-leader-election',
        'Role/steerer-webhook-tls',
        'RoleBinding/steerer-controller-leader-election',
        'RoleBinding/steerer-webhook-tls',
        'Secret/steerer-webhook-tls',
        'Service/steerer-controller',
        'Service/steerer-webhook',
        'ServiceAccount/steerer-controller',
        'ServiceAccount/steerer-webhook',
        'ValidatingWebhookConfiguration/steerer-webhook',
      ].sort(),
    );
    const clusterScoped = new Set([
      'ClusterRole',
      'ClusterRoleBinding',
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ]);
    for (const o of seed) {
      expect([o.kind, o.metadata.namespace]).toEqual([
        o.kind,
        clusterScoped.has(o.kind) ? undefined : NS,
      ]);
      // Labels are how the e2e (and users) find everything a release owns.
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'steerer',
        'app.kubernetes.io/instance': 'steerer',
        'app.kubernetes.io/managed-by': 'Helm',
      });
    }
  });

  it('wires the seed values into the controller flags', () => {
    const [args, nodeFlags] = scriptArgs(container(seed, 'steerer-controller').args ?? []);
    expect(nodeFlags).toEqual(['--max-semi-space-size=1']);
    expect(args[0]).toBe('controller/dist/main.js');
    expect(args).toContain('--metrics-server=http://prometheus.istio-system:9090');
    expect(args).toContain('--control-loop-interval=1m');
    expect(args).toContain('--leader-elect=true');
    expect(args).toContain('--leader-election-id=steerer-controller');
    expect(args).toContain('--listen-address=:8080');
    expect(args.some((a) => a.startsWith('--namespace='))).toBe(false);
    const webhookArgs = container(seed, 'steerer-webhook').args ?? [];
    expect(webhookArgs).toEqual([
      'webhook/dist/main.js',
      '--port=8443',
      '--metrics-address=:8080',
      '--namespace=$(POD_NAMESPACE)',
      '--service-name=steerer-webhook',
      '--tls-secret=steerer-webhook-tls',
      '--webhook-config-name=steerer-webhook',
      '--log-level=info',
    ]);
  });

  it('passes only flags the processes know, to entry points that exist', async () => {
    const controller = await load<{ CONTROLLER_FLAGS: FlagModule }>('@steerer/controller/config');
    const webhook = await load<{ WEBHOOK_FLAGS: FlagModule }>('@steerer/webhook/config');
    for (const [deployment, flags] of [
      ['steerer-controller', controller.CONTROLLER_FLAGS],
      ['steerer-webhook', webhook.WEBHOOK_FLAGS],
    ] as const) {
      const [[script, ...args], nodeFlags] = scriptArgs(container(seed, deployment).args ?? []);
      // Node itself must take the flags before the script (it refuses unknown ones).
      const node = spawnSync(process.execPath, [...nodeFlags, '-e', '0'], { encoding: 'utf8' });
      expect([deployment, nodeFlags, node.status, node.stderr]).toEqual([
        deployment,
        nodeFlags,
        0,
        '',
      ]);
      const source = (script ?? '').replace('/dist/', '/src/').replace(/\.js$/, '.ts');
      expect(() => readFileSync(join(CHART, '../..', source))).not.toThrow();
      for (const a of args) {
        const flag = /^--([a-z-]+)=/.exec(a)?.[1] ?? a;
        expect([deployment, flag, flag in flags]).toEqual([deployment, flag, true]);
      }
    }
  });

  it('runs each process as its own ServiceAccount: controller 1 replica (Recreate), webhook 2', () => {
    const c = workload(seed, 'steerer-controller');
    expect(c.spec.replicas).toBe(1);
    expect(c.spec.strategy?.type).toBe('Recreate');
    expect(c.spec.template.spec.serviceAccountName).toBe('steerer-controller');
    const w = workload(seed, 'steerer-webhook');
    expect(w.spec.replicas).toBe(2);
    expect(w.spec.template.spec.serviceAccountName).toBe('steerer-webhook');
    expect(
      w.spec.template.spec.affinity?.podAntiAffinity
        ?.preferredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
    for (const d of [c, w]) {
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    }
  });

  it('keeps one webhook replica up through disruptions', () => {
    const pdb = findObject(seed, 'PodDisruptionBudget', 'steerer-webhook') as Rendered & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(
      workload(seed, 'steerer-webhook').spec.selector.matchLabels,
    );
  });

  it('hardens every pod and container', () => {
    const deployments = seed.filter((o) => o.kind === 'Deployment') as Workload[];
    expect(deployments).toHaveLength(2);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect([d.metadata.name, c.name, c.securityContext]).toEqual([
          d.metadata.name,
          c.name,
          expect.objectContaining({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          }),
        ]);
        expect(c.securityContext?.runAsUser).toBeGreaterThan(0);
        expect(c.resources?.requests).toHaveProperty('memory');
        expect(c.resources?.limits).toHaveProperty('memory');
      }
    }
  });

  it('probes the real health endpoints on the port the process listens on', () => {
    for (const name of ['steerer-controller', 'steerer-webhook']) {
      const c = container(seed, name);
      const listen = (c.args ?? []).find((a) => /^--(listen|metrics)-address=/.test(a));
      expect(listen).toBe(
        name === 'steerer-controller' ? '--listen-address=:8080' : '--metrics-address=:8080',
      );
      for (const [probe, path] of [
        [c.livenessProbe, '/healthz'],
        [c.readinessProbe, '/readyz'],
      ] as const) {
        expect(probe?.httpGet?.path).toBe(path);
        const port = c.ports?.find((p) => p.name === probe?.httpGet?.port);
        expect(port?.containerPort).toBe(8080);
      }
    }
  });

  it('exposes the webhook on 443 → 8443 and the controller metrics on 8080', () => {
    const svc = (name: string): { port: number; targetPort: string }[] =>
      (findObject(seed, 'Service', name) as Rendered & { spec: { ports: [] } }).spec.ports;
    expect(svc('steerer-webhook')).toContainEqual(
      expect.objectContaining({ name: 'https', port: 443, targetPort: 'https' }),
    );
    expect(
      container(seed, 'steerer-webhook').ports?.find((p) => p.name === 'https')?.containerPort,
    ).toBe(8443);
    expect(svc('steerer-controller')).toEqual([
      expect.objectContaining({ name: 'http-metrics', port: 8080, targetPort: 'http-metrics' }),
    ]);
  });
});

describe('least-privilege RBAC', () => {
  const CONTROLLER: Rule[] = [
    // patch: its finalizer steerer.io/cleanup and removing a handled steerer.io/request.
    {
      apiGroups: ['apps.weave.works'],
      resources: ['rollouts'],
      verbs: ['list', 'watch', 'patch'],
    },
    { apiGroups: ['apps.weave.works'], resources: ['rollouts/status'], verbs: ['update'] },
    // For owner references with blockOwnerDeletion (OwnerReferencesPermissionEnforcement).
    { apiGroups: ['apps.weave.works'], resources: ['rollouts/finalizers'], verbs: ['update'] },
    // get: a Deployment, Service or route object cached as a skeleton is read whole once.
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'patch'] },
    { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
    {
      apiGroups: ['networking.istio.io'],
      resources: ['virtualservices'],
      verbs: ['get', 'list', 'watch', 'patch'],
    },
    {
      apiGroups: ['networking.istio.io'],
      resources: ['destinationrules'],
      verbs: ['list', 'watch'],
    },
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: ['httproutes'],
      verbs: ['get', 'list', 'watch', 'patch'],
    },
    {
      apiGroups: ['autoscaling'],
      resources: ['horizontalpodautoscalers'],
      verbs: ['list', 'watch'],
    },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
  const LEADER: Rule[] = [
    {
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      resourceNames: ['steerer-controller'],
      verbs: ['get', 'update'],
    },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  ];
  const WEBHOOK: Rule[] = [
    { apiGroups: ['apps.weave.works'], resources: ['rollouts'], verbs: ['list', 'watch'] },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
    { apiGroups: [''], resources: ['services'], verbs: ['get'] },
    { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['get'] },
    { apiGroups: ['networking.istio.io'], resources: ['destinationrules'], verbs: ['list'] },
    { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['get'] },
    { apiGroups: ['gateway.networking.k8s.io'], resources: ['referencegrants'], verbs: ['list'] },
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
      resourceNames: ['steerer-webhook'],
      verbs: ['get', 'patch'],
    },
  ];
  const WEBHOOK_TLS: Rule[] = [
    {
      apiGroups: [''],
      resources: ['secrets'],
      resourceNames: ['steerer-webhook-tls'],
      verbs: ['get', 'update'],
    },
  ];

  it('has no wildcard verb, resource, API group or name anywhere', () => {
    const all = seed.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    expect(all).toHaveLength(4);
    for (const role of all) {
      for (const rule of (role as Rendered & { rules: Rule[] }).rules) {
        for (const field of [
          rule.verbs,
          rule.resources,
          rule.apiGroups,
          rule.resourceNames,
          rule.nonResourceURLs,
        ]) {
          for (const v of field ?? [])
            expect([role.metadata.name, v]).not.toEqual([role.metadata.name, '*']);
        }
        expect(rule.nonResourceURLs).toBeUndefined();
        expect(rule.verbs).not.toContain('delete');
        expect(rule.verbs).not.toContain('deletecollection');
        expect(rule.verbs).not.toContain('escalate');
        expect(rule.verbs).not.toContain('bind');
        expect(rule.verbs).not.toContain('impersonate');
      }
    }
  });

  it('gives the controller exactly what it calls, and Leases only in its namespace', () => {
    expect(rules(seed, 'ClusterRole', 'steerer-controller')).toEqual(CONTROLLER);
    const leader = findObject(seed, 'Role', 'steerer-controller-leader-election');
    expect(leader.metadata.namespace).toBe(NS);
    expect(rules(seed, 'Role', 'steerer-controller-leader-election')).toEqual(LEADER);
  });

  it('gives the webhook exactly what it calls: its own Secret and configurations by name', () => {
    expect(rules(seed, 'ClusterRole', 'steerer-webhook')).toEqual(WEBHOOK);
    expect(findObject(seed, 'Role', 'steerer-webhook-tls').metadata.namespace).toBe(NS);
    expect(rules(seed, 'Role', 'steerer-webhook-tls')).toEqual(WEBHOOK_TLS);
    // No create on Secrets: the chart creates the webhook's Secret for it.
    expect(findObject(seed, 'Secret', 'steerer-webhook-tls')).not.toHaveProperty('data');
  });

  it('grows by the Gateway API router only while routers.gatewayAPI.enabled', async () => {
    const off = await renderChart([...INSTALL, '--set', 'routers.gatewayAPI.enabled=false'], NS);
    const gatewayApi = (r: Rule): boolean =>
      (r.apiGroups ?? []).includes('gateway.networking.k8s.io');
    expect(rules(off, 'ClusterRole', 'steerer-controller')).toEqual(
      CONTROLLER.filter((r) => !gatewayApi(r)),
    );
    expect(rules(off, 'ClusterRole', 'steerer-webhook')).toEqual(
      WEBHOOK.filter((r) => !gatewayApi(r)),
    );
    // The controller then never looks for HTTPRoutes (it could not read them).
    expect(container(off, 'steerer-controller').args).toContain('--routers=VirtualService');
    expect(container(seed, 'steerer-controller').args?.some((a) => a.startsWith('--routers'))).toBe(
      false,
    );
  });

  it('binds each role to its own ServiceAccount only', () => {
    for (const [kind, name, sa] of [
      ['ClusterRoleBinding', 'steerer-controller', 'steerer-controller'],
      ['RoleBinding', 'steerer-controller-leader-election', 'steerer-controller'],
      ['ClusterRoleBinding', 'steerer-webhook', 'steerer-webhook'],
      ['RoleBinding', 'steerer-webhook-tls', 'steerer-webhook'],
    ] as const) {
      const b = findObject(seed, kind, name) as Rendered & {
        roleRef: { kind: string; name: string };
        subjects: unknown[];
      };
      expect(b.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: kind.replace('Binding', ''),
        name,
      });
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: NS }]);
    }
  });

  it('narrows the controller to a Role in the watched namespace when one is set', async () => {
    const objects = await renderChart([...INSTALL, '--set', 'namespace=apps'], NS);
    expect(seed.some((o) => o.kind === 'Role' && o.metadata.name === 'steerer-controller')).toBe(
      false,
    );
    expect(
      objects.some((o) => o.kind === 'ClusterRole' && o.metadata.name === 'steerer-controller'),
    ).toBe(false);
    const role = findObject(objects, 'Role', 'steerer-controller');
    expect(role.metadata.namespace).toBe('apps');
    expect(rules(objects, 'Role', 'steerer-controller')).toEqual(CONTROLLER);
    const binding = findObject(objects, 'RoleBinding', 'steerer-controller') as Rendered & {
      subjects: unknown[];
    };
    expect(binding.metadata.namespace).toBe('apps');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'steerer-controller', namespace: NS },
    ]);
    expect(container(objects, 'steerer-controller').args).toContain('--namespace=apps');
    for (const w of webhooksOf(objects, 'ValidatingWebhookConfiguration')) {
      expect(w.namespaceSelector?.matchExpressions).toContainEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'In',
        values: ['apps'],
      });
    }
  });
});

describe('webhook configurations', () => {
  let module: WebhookModule;

  beforeAll(async () => {
    module = await load<WebhookModule>('@steerer/webhook/manifests');
  });

  function withoutNamespaceSelector(webhooks: Webhook[]): Json[] {
    return webhooks.map(({ namespaceSelector: _ns, ...rest }) => rest);
  }

  it("are the webhook's own manifests, pointed at its Service, with no caBundle", () => {
    const expected = module.webhookConfigurations({
      name: 'steerer-webhook',
      target: { service: { namespace: NS, name: 'steerer-webhook' } },
    });
    for (const [kind, object] of [
      ['MutatingWebhookConfiguration', expected.mutating],
      ['ValidatingWebhookConfiguration', expected.validating],
    ] as const) {
      expect(withoutNamespaceSelector(webhooksOf(seed, kind))).toEqual(object.webhooks);
      for (const w of webhooksOf(seed, kind)) expect(w.clientConfig.caBundle).toBeUndefined();
    }
  });

  it('never block anything when the webhook is down (Ignore; short timeouts but for Rollouts)', () => {
    const policies = [
      ...webhooksOf(seed, 'MutatingWebhookConfiguration'),
      ...webhooksOf(seed, 'ValidatingWebhookConfiguration'),
    ].map((w) => [w.name, w.failurePolicy, w.timeoutSeconds <= 3]);
    // Rollouts too: the CRD refuses field errors by itself (see 'the Rollout CRD').
    expect(policies).toEqual([
      [module.WEBHOOK_NAMES.deployments, 'Ignore', true],
      [module.WEBHOOK_NAMES['virtualservices-weights'], 'Ignore', true],
      [module.WEBHOOK_NAMES['httproutes-weights'], 'Ignore', true],
      [module.WEBHOOK_NAMES.rollouts, 'Ignore', false],
      [module.WEBHOOK_NAMES.virtualservices, 'Ignore', true],
      [module.WEBHOOK_NAMES.httproutes, 'Ignore', true],
    ]);
  });

  it('admit HTTPRoutes only while routers.gatewayAPI.enabled, as the webhook would with --routers', async () => {
    const off = await renderChart([...INSTALL, '--set', 'routers.gatewayAPI.enabled=false'], NS);
    const expected = module.webhookConfigurations({
      name: 'steerer-webhook',
      target: { service: { namespace: NS, name: 'steerer-webhook' } },
      routers: ['VirtualService'],
    });
    for (const [kind, object] of [
      ['MutatingWebhookConfiguration', expected.mutating],
      ['ValidatingWebhookConfiguration', expected.validating],
    ] as const) {
      expect(withoutNamespaceSelector(webhooksOf(off, kind))).toEqual(object.webhooks);
    }
  });

  it('never admit objects of the release namespace', () => {
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      for (const w of webhooksOf(seed, kind)) {
        expect(w.namespaceSelector).toEqual({
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NS] },
          ],
        });
      }
    }
  });

  it('call webhook.url for a webhook run outside the cluster, which then has no Deployment', async () => {
    const objects = await renderChart(
      [
        ...INSTALL,
        '--set',
        'webhook.url=https://127.0.0.1:9443',
        '--set',
        'webhook.namespaceSelector.matchLabels.team=a',
      ],
      NS,
    );
    const expected = module.webhookConfigurations({
      name: 'steerer-webhook',
      target: { url: 'https://127.0.0.1:9443' },
    });
    expect(withoutNamespaceSelector(webhooksOf(objects, 'ValidatingWebhookConfiguration'))).toEqual(
      expected.validating.webhooks,
    );
    expect(withoutNamespaceSelector(webhooksOf(objects, 'MutatingWebhookConfiguration'))).toEqual(
      expected.mutating.webhooks,
    );
    expect(webhooksOf(objects, 'MutatingWebhookConfiguration')[0]?.namespaceSelector).toEqual({
      matchLabels: { team: 'a' },
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NS] }],
    });
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).not.toContain('Deployment/steerer-webhook');
    expect(names).not.toContain('Service/steerer-webhook');
    expect(names).not.toContain('PodDisruptionBudget/steerer-webhook');
    // The process outside still needs its identity, permissions and Secret.
    expect(names).toEqual(
      expect.arrayContaining([
        'ServiceAccount/steerer-webhook',
        'ClusterRole/steerer-webhook',
        'Role/steerer-webhook-tls',
        'Secret/steerer-webhook-tls',
      ]),
    );
  });
});

describe('values', () => {
  it('are wired into flags, image and scheduling', async () => {
    const objects = await renderChart(
      [
        ...INSTALL,
        '--set',
        'analysisInterval=3s',
        '--set',
        'metricsTimeout=4s',
        '--set',
        'logLevel=debug',
        '--set',
        'controller.workers=4',
        '--set',
        'image.repository=registry.example.com/steerer',
        '--set',
        'image.tag=1.2.3',
        '--set',
        'nodeSelector.pool=system',
        '--set',
        'webhook.replicas=3',
        '--set',
        'resources.requests.cpu=200m',
      ],
      NS,
    );
    const c = container(objects, 'steerer-controller');
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--analysis-interval=3s',
        '--metrics-timeout=4s',
        '--log-level=debug',
        '--workers=4',
      ]),
    );
    expect(container(objects, 'steerer-webhook').args).toContain('--log-level=debug');
    for (const name of ['steerer-controller', 'steerer-webhook']) {
      const pod = workload(objects, name).spec.template.spec;
      expect(pod.containers[0]).toMatchObject({ image: 'registry.example.com/steerer:1.2.3' });
      expect(pod.nodeSelector).toEqual({ pool: 'system' });
    }
    expect(c.resources?.requests).toMatchObject({ cpu: '200m' });
    expect(workload(objects, 'steerer-webhook').spec.replicas).toBe(3);
  });

  it('turn parts off: no webhook at all, or no controller Deployment', async () => {
    const noWebhook = await renderChart([...INSTALL, '--set', 'webhook.enabled=false'], NS);
    expect(
      noWebhook.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'webhook'),
    ).toEqual([]);
    const noController = await renderChart([...INSTALL, '--set', 'controller.enabled=false'], NS);
    const names = noController.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).not.toContain('Deployment/steerer-controller');
    expect(names).toEqual(
      expect.arrayContaining([
        'ServiceAccount/steerer-controller',
        'ClusterRole/steerer-controller',
      ]),
    );
  });

  it('render a ServiceMonitor for both processes on request', async () => {
    const objects = await renderChart([...INSTALL, '--set', 'serviceMonitor.enabled=true'], NS);
    const sm = findObject(objects, 'ServiceMonitor', 'steerer') as Rendered & {
      spec: { endpoints: { port: string }[] };
    };
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'http-metrics' })]);
  });

  it.each([
    ['controlLoopInterval=banana', 'controlLoopInterval'],
    ['analysisInterval=soon', 'analysisInterval'],
    ['metricsServer=prometheus:9090', 'metricsServer'],
    ['logLevel=verbose', 'logLevel'],
    ['namespace=Not_A_Namespace', 'namespace'],
    ['controller.workers=0', 'controller/workers'],
    ['webhook.replicas=0', 'webhook/replicas'],
    ['webhook.url=http://127.0.0.1:9443', 'webhook/url'],
    ['image.pullPolicy=Sometimes', 'image/pullPolicy'],
    ['controlLoopIntervall=1m', 'controlLoopIntervall'],
    ['progressDeadline=soon', 'progressDeadline'],
    ['routeSettleTime=5', 'routeSettleTime'],
    ['rollback.onFailure=maybe', 'rollback/onFailure'],
    ['rollback.onFalure=true', 'onFalure'],
    ['image.repository=registry.example.com/steerer:1.0', 'image/repository'],
    ['image.repository=Registry.example.com/Steerer', 'image/repository'],
    ['image.tag=1.0 beta', 'image/tag'],
    ['notifications.url=https://hooks.slack.com/services/x', 'notifications'],
    ['notifications.secretName=Not_A_Secret', 'notifications/secretName'],
    ['notifications.timeout=soon', 'notifications/timeout'],
    ['notifications.queueSize=0', 'notifications/queueSize'],
  ])('reject %s with a message naming %s', async (set, field) => {
    const r = await helm([
      'template',
      'steerer',
      CHART,
      `--namespace=${NS}`,
      '--kube-version',
      KUBE_VERSION,
      ...INSTALL,
      '--set',
      set,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain(field);
  });

  it('are all typed by values.schema.json, with the same duration syntax as the flags', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Json;
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Json;
    const paths = valuePaths(values, schema);
    expect(paths.length).toBeGreaterThan(20);
    for (const { path, schema: s } of paths) {
      expect([path, typeof s.type === 'string' || Array.isArray(s.type)]).toEqual([path, true]);
    }
    const props = schema.properties as Record<string, Json>;
    for (const key of [
      'controlLoopInterval',
      'analysisInterval',
      'metricsTimeout',
      'progressDeadline',
      'routeSettleTime',
    ]) {
      expect(props[key]?.pattern).toBe(DURATION_PATTERN);
    }
  });

  it('are all in the README values table', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Json;
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Json;
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
    const missing = valuePaths(values, schema)
      .map((p) => p.path)
      // A documented map (e.g. `resources`) documents its keys.
      .filter(
        (p) => !p.split('.').some((_, i, parts) => documented.has(parts.slice(0, i + 1).join('.'))),
      );
    expect(missing).toEqual([]);
  });
});

describe('the Rollout CRD', () => {
  interface Crd extends Rendered {
    spec: {
      group: string;
      names: {
        kind: string;
        listKind?: string;
        plural: string;
        singular?: string;
        shortNames?: string[];
        categories?: string[];
      };
    };
  }

  /** The Rollout CRD exactly as the chart installs it. */
  async function rolloutCrd(): Promise<Crd> {
    const r = await helm(['show', 'crds', CHART]);
    expect(r.code).toBe(0);
    const crds = parseManifests(r.stdout);
    return findObject(crds, 'CustomResourceDefinition', 'rollouts.apps.weave.works') as Crd;
  }

  it("keeps the seed's kind and group, with short names Argo Rollouts does not use", async () => {
    const crd = await rolloutCrd();
    expect(crd.spec.group).toBe('apps.weave.works');
    expect(crd.spec.names).toEqual({
      kind: 'Rollout',
      listKind: 'RolloutList',
      plural: 'rollouts',
      singular: 'rollout',
      shortNames: ['sro', 'steererrollout'],
      categories: ['steerer'],
    });
    // rollouts.argoproj.io: plural rollouts, singular rollout, short name ro.
    expect(crd.spec.names.shortNames).not.toContain('ro');
  });

  it('is addressed unambiguously the way the README and the reference say', async () => {
    const crd = await rolloutCrd();
    const names = crd.spec.names;
    // In code: `kubectl get rollouts.apps.weave.works`, `kubectl get sro`, `steererrollout`…
    const forms = [
      `kubectl get ${names.plural}.${crd.spec.group}`,
      ...(names.shortNames ?? []),
      ...(names.categories ?? []).map((c) => `kubectl get ${c}`),
    ];
    for (const doc of ['README.md', 'docs/reference.md']) {
      const text = readFileSync(join(REPO, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
      const code = [...text.matchAll(/`([^`]+)`/g)].map((m) => ` ${m[1]} `);
      const missing = forms.filter((f) => !code.some((c) => c.includes(` ${f} `)));
      expect([doc, missing]).toEqual([doc, []]);
    }
  });
});

/** `helm template` as a user runs it: exit code and messages, no throw. */
function template(args: readonly string[]): Promise<RunResult> {
  return helm([
    'template',
    'steerer',
    CHART,
    `--namespace=${NS}`,
    '--kube-version',
    KUBE_VERSION,
    ...args,
  ]);
}

describe('the image', () => {
  it('is the one given, in both Deployments; the tag defaults to the appVersion', async () => {
    for (const name of ['steerer-controller', 'steerer-webhook']) {
      expect(container(seed, name).image).toBe(`${IMAGE_REPOSITORY}:${IMAGE_TAG}`);
    }
    const untagged = await renderChart(
      [...SEED_SET, '--set', `image.repository=${IMAGE_REPOSITORY}`],
      NS,
    );
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    expect(container(untagged, 'steerer-controller').image).toBe(
      `${IMAGE_REPOSITORY}:${chart.appVersion}`,
    );
  });

  it.each([
    ["the seed's command as it is", []],
    ['the controller alone', ['--set', 'webhook.enabled=false']],
    ['the webhook alone, in the cluster', ['--set', 'controller.enabled=false']],
    ['a tag without a repository', ['--set', 'image.tag=1.2.3']],
  ])('has no default: %s fails with what to do, rendering nothing', async (_, extra) => {
    const r = await template([...SEED_SET, ...extra]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.replace(/\s+/g, ' ')).toContain(NO_IMAGE_MESSAGE);
  });

  it('is not needed when no Deployment is rendered (both processes outside, or none)', async () => {
    for (const extra of [
      ['controller.enabled=false', 'webhook.url=https://127.0.0.1:9443'],
      ['controller.enabled=false', 'webhook.enabled=false'],
    ]) {
      const objects = await renderChart([...SEED_SET, ...extra.flatMap((e) => ['--set', e])], NS);
      expect([extra, objects.filter((o) => o.kind === 'Deployment')]).toEqual([extra, []]);
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toContain(
        'ClusterRole/steerer-controller',
      );
    }
  });

  it('is explained where the message points, and in the README install section', () => {
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
      image: { repository: string };
    };
    expect(values.image.repository).toBe('');
    const chartReadme = readFileSync(join(CHART, 'README.md'), 'utf8');
    expect(chartReadme).toMatch(/^## Image$/m);
    expect(chartReadme).toContain(NO_IMAGE_MESSAGE);
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const install = /^## Install in a cluster$([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
    expect(install).toContain('--set image.repository=');
    expect(install).toContain('Dockerfile');
    expect(install.replace(/\s+/g, ' ')).toContain(NO_IMAGE_MESSAGE);
  });
});

describe('release safety values', () => {
  function env(objects: Rendered[]): Record<string, string | undefined> {
    return Object.fromEntries(
      (container(objects, 'steerer-controller').env ?? []).map((e) => [e.name, e.value]),
    );
  }

  it('reach the controller as environment variables, with safe defaults', () => {
    expect(env(seed)).toMatchObject({
      ROLLBACK_ON_FAILURE: 'true',
      PROGRESS_DEADLINE: '10m',
      ROUTE_SETTLE_TIME: '5s',
    });
    // The webhook neither rolls back nor routes.
    const webhookEnv = (container(seed, 'steerer-webhook').env ?? []).map((e) => e.name);
    expect(webhookEnv).not.toContain('ROLLBACK_ON_FAILURE');
  });

  it('are set per install', async () => {
    const objects = await renderChart(
      [
        ...INSTALL,
        '--set',
        'rollback.onFailure=false',
        '--set',
        'progressDeadline=30m',
        '--set',
        'routeSettleTime=10s',
      ],
      NS,
    );
    expect(env(objects)).toMatchObject({
      ROLLBACK_ON_FAILURE: 'false',
      PROGRESS_DEADLINE: '30m',
      ROUTE_SETTLE_TIME: '10s',
    });
  });

  it.each(['9s', '9999ms', '1ms', '24h1s', '25h'])(
    'refuse progressDeadline=%s: the 10s–24h a Rollout is held to, or 0s',
    async (value) => {
      const r = await template([...INSTALL, '--set', `progressDeadline=${value}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `steerer: progressDeadline must be 0s (never) or between 10s and 24h, got ${value}`,
      );
    },
  );

  it.each(['0s', '10s', '10000ms', '0.5m', '1h30m', '24h'])(
    'accept progressDeadline=%s',
    async (v) => {
      const objects = await renderChart([...INSTALL, '--set', `progressDeadline=${v}`], NS);
      expect(env(objects).PROGRESS_DEADLINE).toBe(v);
    },
  );

  it('are read by the controller under these names and types', async () => {
    const { CONTROLLER_FLAGS } = await load<{ CONTROLLER_FLAGS: FlagModule }>(
      '@steerer/controller/config',
    );
    const byEnv = new Map(
      Object.values(CONTROLLER_FLAGS).flatMap((f) =>
        typeof f.env === 'string' ? [[f.env, f] as const] : [],
      ),
    );
    // Decided names; the controller's flags for them are being written alongside. Until a
    // flag declares one, its value is checked here only for its type.
    const NEW: Record<string, string> = {
      ROLLBACK_ON_FAILURE: 'bool',
      PROGRESS_DEADLINE: 'duration',
      ROUTE_SETTLE_TIME: 'duration',
    };
    const read = new Set(['STEERER_VERSION']); // controller.ts reads it directly
    for (const { name, value } of container(seed, 'steerer-controller').env ?? []) {
      if (read.has(name)) continue;
      const flag = byEnv.get(name);
      if (NEW[name]) {
        if (flag) expect([name, flag.type]).toEqual([name, NEW[name]]);
        if (NEW[name] === 'duration') expect(value).toMatch(new RegExp(DURATION_PATTERN));
        else expect(['true', 'false']).toContain(value);
      } else {
        expect([name, flag !== undefined]).toEqual([name, true]);
      }
    }
  });
});

describe('the Rollout CRD validation', () => {
  interface Schema {
    type?: string;
    description?: string;
    format?: string;
    pattern?: string;
    maxLength?: number;
    minLength?: number;
    enum?: unknown[];
    properties?: Record<string, Schema>;
    items?: Schema;
    'x-kubernetes-validations'?: {
      rule: string;
      message?: string;
      messageExpression?: string;
      fieldPath?: string;
    }[];
  }
  interface Version {
    name: string;
    additionalPrinterColumns: Record<string, unknown>[];
    schema: { openAPIV3Schema: Schema };
  }

  const crd = parse(readFileSync(join(CHART, 'crds/rollouts.yaml'), 'utf8')) as {
    spec: { versions: Version[] };
  };
  const version = crd.spec.versions[0] as Version;
  const root = version.schema.openAPIV3Schema;

  function at(path: string): Schema {
    let s: Schema | undefined = root;
    for (const key of path.split('.')) s = s?.properties?.[key];
    if (!s) throw new Error(`the CRD has no ${path}`);
    return s;
  }

  it("keeps the seed's printer columns: `kubectl get rollouts` is a contract", () => {
    expect(version.additionalPrinterColumns).toEqual([
      { name: 'Status', type: 'string', jsonPath: '.status.phase' },
      { name: 'Weight', type: 'integer', jsonPath: '.status.canaryWeight' },
      { name: 'FailedChecks', type: 'integer', jsonPath: '.status.failedChecks' },
      { name: 'SuccessRate', type: 'number', jsonPath: '.status.analysis.successRate' },
      { name: 'LastTransitionTime', type: 'date', jsonPath: '.status.lastTransitionTime' },
      { name: 'Revision', type: 'string', jsonPath: '.status.canaryRevision', priority: 1 },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ]);
  });

  it('takes every phase and failure reason the controller writes', () => {
    expect(at('status.phase').enum).toEqual([...PHASES]);
    expect(at('status.failureReason').enum).toEqual([...FAILURE_REASONS]);
    expect(at('status.lastRequest.outcome').enum).toEqual(['Done', 'Refused']);
    for (const field of ['failingSince', 'lastProgressTime', 'lastRouteTime', 'lastRequest.time']) {
      expect([field, at(`status.${field}`).format]).toEqual([field, 'date-time']);
    }
  });

  it('describes every spec field and every new status field (kubectl explain)', () => {
    const missing: string[] = [];
    const walk = (s: Schema, path: string): void => {
      if (!s.description) missing.push(path);
      for (const [k, child] of Object.entries(s.properties ?? {})) walk(child, `${path}.${k}`);
    };
    walk(at('spec'), 'spec');
    for (const f of [
      'phase',
      'failingSince',
      'failureReason',
      'lastProgressTime',
      'lastRouteTime',
      'lastRequest',
    ]) {
      walk(at(`status.${f}`), `status.${f}`);
    }
    expect(missing).toEqual([]);
  });

  it.each([
    ['spec.metric.interval', '1s', '24h'],
    ['spec.rollback.failureDuration', '1s', '24h'],
    ['spec.progressDeadline', '10s', '24h'],
  ])('bounds %s to %s–%s with CEL duration()', (path, min, max) => {
    const s = at(path);
    expect(s.type).toBe('string');
    expect(s.pattern).toBe(DURATION_PATTERN);
    expect(s.maxLength).toBe(32);
    const [rule, ...others] = s['x-kubernetes-validations'] ?? [];
    expect(others).toEqual([]);
    // Guarded by the same syntax, so a non-duration gets the pattern's error only.
    expect(rule?.rule).toBe(
      `!self.matches('${DURATION_PATTERN.replaceAll('\\.', '[.]')}') || ` +
        `(duration(self) >= duration('${min}') && duration(self) <= duration('${max}'))`,
    );
    expect(rule?.message).toBe(`must be between ${min} and ${max}`);
  });

  it('types the new optional spec fields', () => {
    expect(at('spec.rollback.onFailure').type).toBe('boolean');
    expect(at('spec.rollback').type).toBe('object');
    const required = (at('spec') as Schema & { required?: string[] }).required;
    expect(required).not.toContain('rollback');
    expect(required).not.toContain('progressDeadline');
  });

  it("refuses exactly the Service hosts the webhook's validation refuses", () => {
    const host = at('spec.canary.host');
    expect(at('spec.primary.host')).toEqual({
      ...host,
      description: expect.stringContaining('primary'),
    });
    const cel = /^self\.matches\('([^']+)'\)$/.exec(
      host['x-kubernetes-validations']?.[0]?.rule ?? '',
    )?.[1];
    expect(cel).toBeDefined();
    // The CRD's checks, mirrored: lengths, the OpenAPI pattern and the CEL expression.
    const crdAccepts = (h: string): boolean =>
      h.length >= (host.minLength ?? 0) &&
      h.length <= (host.maxLength ?? Infinity) &&
      new RegExp(host.pattern ?? '').test(h) &&
      new RegExp(cel ?? '').test(h);
    const fromCases = [...INVALID_ROLLOUT_CASES, ...VALID_ROLLOUT_CASES].flatMap((c) => {
      const spec = c.spec as { primary?: { host?: unknown }; canary?: { host?: unknown } } | null;
      return [spec?.primary?.host, spec?.canary?.host].filter(
        (h): h is string => typeof h === 'string',
      );
    });
    const hosts = [
      ...new Set([
        ...fromCases,
        'a',
        'podinfo.svc',
        `p${'a'.repeat(62)}`,
        `p${'a'.repeat(63)}`,
        `podinfo.${'n'.repeat(63)}`,
        `podinfo.${'n'.repeat(64)}`,
        'podinfo.test.svc.my.domain',
        'podinfo.test.cluster.local',
        'podinfo.test.svc.',
        'podinfo..test',
        'podinfo-.test',
        'podinfo.-test',
        '-podinfo',
        'podinfo.test.svc.cluster.local.',
      ]),
    ];
    expect(hosts.length).toBeGreaterThan(25);
    const disagree = hosts.filter((h) => {
      const webhook = validateRolloutSpec(
        specWith({ 'primary.host': 'other-service', 'canary.host': h }),
      ).ok;
      return webhook !== crdAccepts(h);
    });
    expect(disagree).toEqual([]);
  });

  it('gives every CEL rule a message naming what is wrong', () => {
    const rules: { path: string; message?: string }[] = [];
    const walk = (s: Schema, path: string): void => {
      for (const r of s['x-kubernetes-validations'] ?? []) rules.push({ path, ...r });
      for (const [k, child] of Object.entries(s.properties ?? {})) walk(child, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
    };
    walk(root, '');
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const r of rules) expect([r.path, r.message]).toEqual([r.path, expect.any(String)]);
  });
});

describe('notifications', () => {
  const SECRET = 'steerer-notifications';
  const DIR = '/etc/steerer/notifications';
  interface Volume {
    name: string;
    secret?: { secretName: string; defaultMode?: number; optional?: boolean };
  }
  interface Mount {
    name: string;
    mountPath: string;
    readOnly?: boolean;
  }
  type NotifyPod = PodSpec & {
    volumes?: Volume[];
    containers: (Container & { volumeMounts?: Mount[] })[];
  };
  function pod(objects: Rendered[]): NotifyPod {
    const spec: PodSpec = workload(objects, 'steerer-controller').spec.template.spec;
    return spec;
  }
  function env(objects: Rendered[]): Record<string, string | undefined> {
    return Object.fromEntries(
      (container(objects, 'steerer-controller').env ?? []).map((e) => [e.name, e.value]),
    );
  }

  it('are off by default: no Secret mounted, no receivers directory', () => {
    expect(env(seed).NOTIFICATIONS_DIR).toBeUndefined();
    expect(pod(seed).volumes?.some((v) => v.secret)).toBe(false);
  });

  it("mount the named Secret read-only as the controller's receivers directory", async () => {
    const objects = await renderChart(
      [
        ...INSTALL,
        '--set',
        `notifications.secretName=${SECRET}`,
        '--set',
        'notifications.dashboardURL=https://steerer.example.com/',
        '--set',
        'notifications.steps=true',
      ],
      NS,
    );
    const p = pod(objects);
    const volume = p.volumes?.find((v) => v.secret?.secretName === SECRET);
    expect(volume?.secret).toEqual({ secretName: SECRET, defaultMode: 0o440 });
    // The pod's fsGroup reads the 0440 files; the container is not root.
    expect(p.securityContext?.fsGroup).toBeDefined();
    const mount = p.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name);
    expect(mount).toEqual({ name: volume?.name, mountPath: DIR, readOnly: true });
    expect(env(objects)).toMatchObject({
      NOTIFICATIONS_DIR: DIR,
      NOTIFY_BY_DEFAULT: 'true',
      NOTIFY_STEPS: 'true',
      DASHBOARD_URL: 'https://steerer.example.com/',
      NOTIFY_TIMEOUT: '5s',
      NOTIFY_ATTEMPTS: '5',
      NOTIFY_QUEUE_SIZE: '100',
    });
    // No receiver URL anywhere in the rendered objects: only the Secret's name.
    const rendered = JSON.stringify(objects);
    expect(rendered).not.toMatch(/hooks\.slack\.com|powerautomate|webhook\.office/);
    expect(objects.some((o) => o.kind === 'Secret' && o.metadata.name === SECRET)).toBe(false);
  });

  it('reach the controller under flags it knows, with the types it reads', async () => {
    const { CONTROLLER_FLAGS } = await load<{ CONTROLLER_FLAGS: FlagModule }>(
      '@steerer/controller/config',
    );
    const byEnv = new Map(
      Object.values(CONTROLLER_FLAGS).flatMap((f) =>
        typeof f.env === 'string' ? [[f.env, f] as const] : [],
      ),
    );
    const objects = await renderChart(
      [...INSTALL, '--set', `notifications.secretName=${SECRET}`],
      NS,
    );
    const types: Record<string, string> = {
      NOTIFICATIONS_DIR: 'string',
      NOTIFY_BY_DEFAULT: 'bool',
      NOTIFY_STEPS: 'bool',
      NOTIFY_TIMEOUT: 'duration',
      NOTIFY_ATTEMPTS: 'int',
      NOTIFY_QUEUE_SIZE: 'int',
    };
    for (const [name, type] of Object.entries(types)) {
      expect([name, byEnv.get(name)?.type]).toEqual([name, type]);
      expect([name, env(objects)[name] !== undefined]).toEqual([name, true]);
    }
    expect(byEnv.get('DASHBOARD_URL')?.type).toBe('url');
  });
});
