// Istio subset routing on the real cluster (issue 14, items 2 and 6): one Service selecting
// both Deployments' pods by their app label, a DestinationRule with a subset per Deployment
// by a version label, and a VirtualService whose route names the two subsets of that one
// host. The webhook refuses a Rollout whose subsets are missing or select the wrong pods,
// naming the object and the field; the controller halts (Stalled) when the DestinationRule
// loses a subset or goes away, and carries on once it is back. A release with traffic
// through the gateway halts on a fault injected mid-release, recovers and promotes, and
// every other route of the VirtualService, and the DestinationRule, are left as they were.
//
// Assumes `npx tsc -b` ran (webhook/dist, controller/dist, certs/dist, test/dist for the mesh).

import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  applyYaml,
  clusterEnv,
  deleteNamespace,
  deploymentOf,
  gatewayGet,
  installCrd,
  kubectl,
  kubectlJson,
  kubectlResult,
  promQuery,
  rolloutEvents,
  rolloutStatus,
  setFault,
  startController,
  startLocalWebhook,
  waitAvailable,
  waitFor,
} from './harness.js';
import { GatewayTraffic } from './traffic.js';
import type { SteererProcess } from './harness.js';

const NS = 'subsets';
const CONFIG = 'steerer-webhook-subsets';
const HOST = `app.${NS}.example.com`;
const IMAGE = 'quay.io/stefanprodan/podinfo:1.0.0';
const CANARY_WORKLOAD = `${NS}/app-canary`;

/** A Deployment whose pods carry app=app and version=<version> (its selector has both). */
function deployment(name: string, version: string, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: app
      version: ${version}
  template:
    metadata:
      labels:
        app: app
        version: ${version}
    spec:
      containers:
      - name: podinfod
        image: ${image}
        ports:
        - containerPort: 9898
          name: http
`;
}

/** The one Service, selecting both Deployments' pods. */
const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: app
  namespace: ${NS}
spec:
  type: ClusterIP
  selector:
    app: app
  ports:
  - name: http
    port: 9898
    targetPort: http
`;

function destinationRule(subsets: { name: string; labels: Record<string, string> }[]): string {
  const list = subsets
    .map(
      (s) =>
        `  - name: ${s.name}\n    labels:\n${Object.entries(s.labels)
          .map(([k, v]) => `      ${k}: ${v}\n`)
          .join('')}`,
    )
    .join('');
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: app
  namespace: ${NS}
spec:
  host: app
  trafficPolicy:
    connectionPool:
      http:
        http1MaxPendingRequests: 1024
  subsets:
${list}`;
}

const SUBSETS = [
  { name: 'primary', labels: { version: 'primary' } },
  { name: 'canary', labels: { version: 'canary' } },
];

/**
 * An /admin route to the primary subset only (with a header match and a timeout), which
 * Steerer must never touch, then the split between the two subsets of host app.
 */
const VIRTUAL_SERVICE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: app
  namespace: ${NS}
spec:
  hosts:
  - ${HOST}
  http:
  - name: admin
    match:
    - uri:
        prefix: /admin
      headers:
        x-admin:
          exact: "1"
    route:
    - destination:
        host: app
        subset: primary
        port:
          number: 9898
    timeout: 10s
  - name: split
    route:
    - destination:
        host: app
        subset: primary
        port:
          number: 9898
      weight: 100
    - destination:
        host: app
        subset: canary
        port:
          number: 9898
      weight: 0
`;

function rollout(canarySubset = 'canary'): string {
  return `apiVersion: apps.weave.works/v1beta1
kind: Rollout
metadata:
  name: app
  namespace: ${NS}
spec:
  targetKind: Deployment
  primary:
    name: app
    host: app
    subset: primary
  canary:
    name: app-canary
    host: app
    subset: ${canarySubset}
  virtualService:
    name: app
    weight: 20
  metric:
    type: counter
    name: istio_requests_total
    interval: 10s
    threshold: 99
  rollback:
    failureDuration: 2m
`;
}

interface Destination {
  destination: { host: string; subset?: string };
  weight?: number;
}
interface VirtualService {
  spec: { hosts: string[]; http: { name?: string; route: Destination[] }[] };
}

async function virtualService(): Promise<VirtualService> {
  return kubectlJson<VirtualService>(['get', 'virtualservice', '-n', NS, 'app']);
}

/** The split route's [primary, canary] weights, by subset. */
async function splitWeights(): Promise<number[]> {
  const route = (await virtualService()).spec.http.find((r) => r.name === 'split')?.route ?? [];
  return ['primary', 'canary'].map(
    (s) => route.find((d) => d.destination.subset === s)?.weight ?? -1,
  );
}

/** Everything of the VirtualService Steerer must never touch: hosts, other routes, subsets. */
async function untouchable(): Promise<string> {
  const vs = await virtualService();
  return JSON.stringify({
    hosts: vs.spec.hosts,
    others: vs.spec.http.filter((r) => r.name !== 'split'),
    split: vs.spec.http
      .filter((r) => r.name === 'split')
      .map((r) => ({ ...r, route: r.route.map((d) => ({ ...d, weight: 0 })) })),
  });
}

const rawDestinationRule = (): Promise<string> =>
  kubectl(['get', 'destinationrule', '-n', NS, 'app', '-o', 'json']);

async function waitPhase(phase: string, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    `phase ${phase}`,
    async () => (await rolloutStatus(NS, 'app')).phase === phase,
    timeoutMs,
    200,
  );
}

async function stalled(): Promise<{ status: string; reason: string; message: string }> {
  const r = await kubectlJson<{
    status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
  }>(['get', 'rollout', '-n', NS, 'app']);
  const c = r.status?.conditions?.find((x) => x.type === 'Stalled');
  return { status: c?.status ?? '', reason: c?.reason ?? '', message: c?.message ?? '' };
}

let webhook: SteererProcess | undefined;
let controller: SteererProcess | undefined;
let certDir = '';

beforeAll(async () => {
  clusterEnv();
  await kubectl([
    'delete',
    'mutatingwebhookconfiguration,validatingwebhookconfiguration',
    CONFIG,
    '--ignore-not-found',
  ]);
  await deleteNamespace(NS);
  await installCrd();
  await applyYaml(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${NS}\n`);
  ({ webhook, certDir } = await startLocalWebhook('webhook-subsets', NS, CONFIG));
  await applyYaml(
    [
      deployment('app', 'primary', IMAGE),
      deployment('app-canary', 'canary', IMAGE),
      SERVICE,
      VIRTUAL_SERVICE,
    ].join('---\n'),
  );
  await waitAvailable(NS, ['app', 'app-canary']);
}, 300_000);

afterAll(async () => {
  await kubectl([
    'delete',
    'mutatingwebhookconfiguration,validatingwebhookconfiguration',
    CONFIG,
    '--ignore-not-found',
  ]).catch(() => undefined);
  await controller?.stop();
  await webhook?.stop();
  await setFault(NS, 'app-canary', null).catch(() => undefined);
  if (certDir) rmSync(certDir, { recursive: true, force: true });
}, 120_000);

describe('admission of a Rollout routed to DestinationRule subsets', () => {
  async function dryRun(yaml: string): Promise<{ code: number; said: string }> {
    const r = await kubectlResult(['apply', '--dry-run=server', '-f', '-'], yaml);
    return { code: r.code, said: r.stderr.replace(/\s+/g, ' ') };
  }

  it('the CRD refuses a Rollout naming the subset of one side only, naming the field', async () => {
    const r = await dryRun(rollout().replace('    subset: primary\n', ''));
    expect(r.code).not.toBe(0);
    expect(r.said).toContain('spec.primary.subset');
    expect(r.said).toContain('required when spec.canary.subset is set');
  });

  it('the webhook refuses it while no DestinationRule has the host, naming the host and the fields', async () => {
    const r = await dryRun(rollout());
    expect(r.code).not.toBe(0);
    expect(r.said).toContain(
      `no DestinationRule in namespace ${NS} has host app (Service ${NS}/app) to define the subsets spec.primary.subset "primary" and spec.canary.subset "canary" name`,
    );
  });

  it('the webhook refuses a subset the DestinationRule lacks, naming the DestinationRule and the field', async () => {
    await applyYaml(destinationRule([{ name: 'primary', labels: { version: 'primary' } }]));
    const r = await dryRun(rollout());
    expect(r.code).not.toBe(0);
    expect(r.said).toContain(
      `DestinationRule ${NS}/app (host app) spec.subsets has no subset "canary" (spec.canary.subset); it defines "primary"`,
    );
  });

  it("the webhook refuses a subset whose labels select the other side's pods, naming the labels", async () => {
    await applyYaml(
      destinationRule([
        { name: 'primary', labels: { version: 'primary' } },
        { name: 'canary', labels: { app: 'app' } },
      ]),
    );
    const r = await dryRun(rollout());
    expect(r.code).not.toBe(0);
    expect(r.said).toContain(
      `DestinationRule ${NS}/app spec.subsets[1] (subset "canary", spec.canary.subset) selects the primary's pods too: its labels app=app match the pod template labels of Deployment ${NS}/app`,
    );
  });

  it('admits it once each subset selects its own Deployment only', async () => {
    await applyYaml(destinationRule(SUBSETS));
    const r = await kubectlResult(['apply', '-f', '-'], rollout());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    controller = startController([
      '--control-loop-interval=2s',
      '--analysis-interval=1s',
      '--route-settle-time=2s',
      `--namespace=${NS}`,
    ]);
    await waitPhase('Initialized', 90_000);
    expect(await stalled()).toMatchObject({ status: 'False' });
  });
});

describe('the controller and a DestinationRule that changes under it', () => {
  it('halts (Stalled) while the canary subset is missing, naming the DestinationRule and the field', async () => {
    await applyYaml(destinationRule([{ name: 'primary', labels: { version: 'primary' } }]));
    const s = await waitFor(
      'Stalled=True',
      async () => {
        const c = await stalled();
        return c.status === 'True' ? c : undefined;
      },
      30_000,
      200,
    );
    expect(s).toEqual({
      status: 'True',
      reason: 'InvalidTarget',
      message: `Halt rollout app.${NS} DestinationRule app.${NS} (host app) spec.subsets has no subset "canary" (spec.canary.subset); it defines "primary"`,
    });
  });

  it('halts MissingTarget while the DestinationRule is gone, and carries on once it is back', async () => {
    await kubectl(['delete', 'destinationrule', '-n', NS, 'app']);
    const s = await waitFor(
      'Stalled MissingTarget',
      async () => {
        const c = await stalled();
        return c.reason === 'MissingTarget' ? c : undefined;
      },
      30_000,
      200,
    );
    await applyYaml(destinationRule(SUBSETS));
    expect(s.message).toBe(
      `Halt rollout app.${NS} no DestinationRule in namespace ${NS} has host app (Service app.${NS}) to define the subsets spec.primary.subset "primary" and spec.canary.subset "canary" name`,
    );
    await waitFor('Stalled=False', async () => (await stalled()).status === 'False', 30_000, 200);
    expect(await splitWeights()).toEqual([100, 0]);
  });
});

describe('a release through two subsets of one Service, with traffic through the gateway', () => {
  const traffic = new GatewayTraffic(HOST, CANARY_WORKLOAD);
  let unrelated = '';
  let rule = '';

  beforeAll(async () => {
    await waitFor(
      'a phase without a release',
      async () =>
        ['Initialized', 'Succeeded'].includes((await rolloutStatus(NS, 'app')).phase ?? ''),
      60_000,
      200,
    );
    unrelated = await untouchable();
    rule = await rawDestinationRule();
    const answer = await waitFor(
      `the gateway to route Host ${HOST} to the primary subset`,
      async () => {
        const a = await gatewayGet(HOST);
        return a.status === 200 ? a : undefined;
      },
      20_000,
      500,
    );
    expect(answer.status).toBe(200);
    traffic.start(40);
  });

  afterAll(async () => {
    await traffic.stop().catch(() => undefined);
    await setFault(NS, 'app-canary', null).catch(() => undefined);
  });

  it('halts on a fault injected mid-release, recovers once it is gone, and promotes', async () => {
    const before = (await rolloutStatus(NS, 'app')).canaryRevision;
    await applyYaml(deployment('app-canary', 'canary', 'quay.io/stefanprodan/podinfo:1.1.0'));
    await waitFor(
      'the release of 1.1.0',
      async () => {
        const s = await rolloutStatus(NS, 'app');
        return s.canaryRevision !== before && s.phase === 'Progressing';
      },
      60_000,
      200,
    );
    await waitFor(
      'weight 40',
      async () => ((await rolloutStatus(NS, 'app')).canaryWeight ?? 0) >= 40,
      120_000,
      200,
    );
    expect(traffic.byWorkload.get(CANARY_WORKLOAD) ?? 0).toBeGreaterThan(0);
    await setFault(NS, 'app-canary', { errorRatio: 0.5 });
    await waitPhase('Halted', 60_000);
    const halted = await rolloutStatus(NS, 'app');
    expect(halted.analysis?.result).toBe('Fail');
    const w = halted.canaryWeight ?? 0;
    expect(await splitWeights()).toEqual([100 - w, w]);
    await setFault(NS, 'app-canary', null);
    await waitFor(
      'the release to carry on past the halt',
      async () => ((await rolloutStatus(NS, 'app')).canaryWeight ?? 0) > w,
      120_000,
      200,
    );
    await waitPhase('Succeeded');
    await waitFor(
      'the canary scaled down',
      async () => (await deploymentOf(NS, 'app-canary')).replicas === 0,
    );
    expect(await splitWeights()).toEqual([100, 0]);
    const primary = await deploymentOf(NS, 'app');
    expect(primary.image).toBe('quay.io/stefanprodan/podinfo:1.1.0');
    // The primary keeps its subset's label: the primary subset still selects only it.
    expect(primary.labels).toMatchObject({ app: 'app', version: 'primary' });
    expect(await stalled()).toMatchObject({ status: 'False' });
    const messages = (await rolloutEvents(NS, 'app')).map((e) => e.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        `Starting rollout for app.${NS}`,
        `Advance rollout app.${NS} weight 20`,
        expect.stringMatching(new RegExp(`^Halt rollout app\\.${NS} success rate [\\d.]+% < 99%`)),
        `Copying app-canary.${NS} template spec to app.${NS}`,
        `Promotion complete! Scaling down app-canary.${NS}`,
      ]),
    );
  });

  it("exported Istio's metrics for the canary subset's Deployment, behind the one Service", async () => {
    const result = await waitFor(
      'istio_requests_total of the canary workload in Prometheus',
      async () => {
        const r = await promQuery(
          `sum(istio_requests_total{reporter="destination",destination_workload_namespace="${NS}",destination_workload="app-canary",destination_service_name="app",destination_version="canary"})`,
        );
        return r.length > 0 && Number(r[0]?.value[1]) > 0 ? r : undefined;
      },
      30_000,
      500,
    );
    expect(Number(result[0]?.value[1])).toBeGreaterThan(0);
  });

  it('left the other route, the hosts and the DestinationRule unchanged byte for byte', async () => {
    expect(await untouchable()).toBe(unrelated);
    expect(await rawDestinationRule()).toBe(rule);
  });

  it('served every request: no error the canary did not cause', async () => {
    await traffic.stop();
    expect(traffic.bad).toEqual([]);
    expect(traffic.canaryFaults).toBeGreaterThan(0);
    expect(traffic.sent).toBeGreaterThan(500);
    expect(traffic.byWorkload.get(`${NS}/app`) ?? 0).toBeGreaterThan(0);
  });
});
