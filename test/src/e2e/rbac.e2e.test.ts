// Least privilege, proven on the real cluster. The chart is installed with the seed's
// command (plus webhook.url, since kwok runs no containers), then the webhook and the
// controller run as local processes that impersonate the chart's ServiceAccounts: the
// webhook fills its Secret, publishes its CA and admits the seed's Rollout; the controller
// takes its Lease and carries the seed rollout through to promotion, twice. Nothing either
// asked for was forbidden, and each is refused what it does not need.
//
// The webhooks are limited to this suite's namespace, so no other suite is affected. The
// suite must not share its cluster with another suite's controller running cluster-wide as
// the admin user (`npm test` runs suites one at a time): that one would act on this suite's
// Rollout too and could mask a missing permission.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SteererProcess } from './harness.js';
import {
  applyYaml,
  deleteNamespace,
  deploymentOf,
  freePort,
  installCrd,
  kubectlJson,
  kubectlResult,
  rolloutEvents,
  rolloutStatus,
  seedYaml,
  setLoad,
  startController,
  startProcess,
  vsWeights,
  waitAvailable,
  waitFor,
  waitSeedHpaSettled,
} from './harness.js';
import {
  CONTROLLER_SA,
  RELEASE_NS,
  WEBHOOK_SA,
  leftovers,
  mustUpgradeInstall,
  uninstall,
  webhookScopeValues,
} from '../chart/release.js';

const NS = 'rbac-e2e';
const CONFIG = 'steerer-webhook';
const SECRET = 'steerer-webhook-tls';
const KINDS = ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration'] as const;

let webhook: SteererProcess | undefined;
let controller: SteererProcess | undefined;

async function secretData(): Promise<Record<string, string>> {
  const s = await kubectlJson<{ data?: Record<string, string> }>([
    'get',
    'secret',
    '-n',
    RELEASE_NS,
    SECRET,
  ]);
  return s.data ?? {};
}

async function caBundles(): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (const kind of KINDS) {
    const c = await kubectlJson<{ webhooks: { clientConfig: { caBundle?: string } }[] }>([
      'get',
      kind,
      CONFIG,
    ]);
    out.push(...c.webhooks.map((w) => w.clientConfig.caBundle));
  }
  return out;
}

async function messages(): Promise<string[]> {
  return (await rolloutEvents(NS, 'podinfo')).map((e) => e.message);
}

async function waitSucceeded(description: string): Promise<void> {
  await waitFor(
    description,
    async () => (await rolloutStatus(NS, 'podinfo')).phase === 'Succeeded',
    240_000,
    500,
  );
}

/** Lines of a process's log that report a refused API call. */
function forbidden(p: SteererProcess | undefined): string[] {
  return (p?.output() ?? '').split('\n').filter((l) => /forbidden|\b403\b/i.test(l));
}

async function stopProcesses(): Promise<void> {
  await controller?.stop();
  await webhook?.stop();
  controller = undefined;
  webhook = undefined;
}

/** `kubectl auth can-i` as a ServiceAccount: "yes" or "no". */
async function canI(as: string, args: string[]): Promise<string> {
  const r = await kubectlResult(['auth', 'can-i', ...args, `--as=${as}`]);
  return r.stdout.trim() || r.stderr.trim();
}

describe('the controller and the webhook with exactly the chart RBAC', () => {
  beforeAll(async () => {
    await stopProcesses();
    await uninstall();
    await deleteNamespace(NS);
    await installCrd();
    const port = await freePort();
    await mustUpgradeInstall([
      '-f',
      webhookScopeValues(NS),
      '--set',
      `webhook.url=https://127.0.0.1:${port}`,
      '--set',
      'controller.enabled=false',
    ]);

    webhook = startProcess('rbac-webhook', 'webhook/dist/main.js', [
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--tls-ip=127.0.0.1',
      `--namespace=${RELEASE_NS}`,
      '--ca-propagation-delay=0s',
      '--log-level=debug',
      `--impersonate=${WEBHOOK_SA}`,
    ]);
    await waitFor(
      'the webhook to publish its CA into every webhook',
      async () => {
        const ca = (await secretData())['ca.crt'];
        const bundles = await caBundles();
        // Mutating: deployments and the two route-weights webhooks; validating: rollouts
        // and the two route webhooks.
        return ca !== undefined && bundles.length === 6 && bundles.every((b) => b === ca);
      },
      60_000,
      250,
    );

    for (const f of ['namespace', 'primary', 'canary', 'hpa', 'virtualservice']) {
      await applyYaml(seedYaml(`${f}.yaml`, NS));
    }
    await waitAvailable(NS, ['podinfo', 'podinfo-canary']);
    await waitSeedHpaSettled(NS);
    await setLoad(NS, 'podinfo', 50);
    controller = startController([
      `--impersonate=${CONTROLLER_SA}`,
      `--namespace=${NS}`,
      '--leader-elect=true',
      `--leader-election-namespace=${RELEASE_NS}`,
      '--control-loop-interval=5s',
      '--analysis-interval=1s',
    ]);
  });

  afterAll(async () => {
    await stopProcesses();
    await setLoad(NS, 'podinfo', 0).catch(() => undefined);
    await uninstall();
    await deleteNamespace(NS);
  });

  it('impersonation is real: as a ServiceAccount without RBAC, both processes are refused', async () => {
    const nobody = `system:serviceaccount:${NS}:default`;
    const port = await freePort();
    const refused = [
      startController([`--impersonate=${nobody}`, `--namespace=${NS}`]),
      startProcess('rbac-nobody-webhook', 'webhook/dist/main.js', [
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--tls-ip=127.0.0.1',
        `--namespace=${RELEASE_NS}`,
        '--webhook-config-name=none-such',
        `--impersonate=${nobody}`,
      ]),
    ];
    try {
      for (const p of refused) {
        await waitFor('a forbidden answer', () => forbidden(p).length > 0, 30_000);
        expect(forbidden(p).join('\n')).toContain(nobody);
      }
    } finally {
      await Promise.all(refused.map((p) => p.stop()));
    }
  });

  it('the webhook, as its ServiceAccount, filled the Secret the chart made and published its CA', async () => {
    const data = await secretData();
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(await caBundles()).toEqual(Array.from({ length: 6 }, () => data['ca.crt']));
  });

  it('the controller, as its ServiceAccount, holds the leader Lease the chart made', async () => {
    const holder = await waitFor(
      'the controller to take the Lease',
      async () =>
        (
          await kubectlJson<{ spec?: { holderIdentity?: string } }>([
            'get',
            'lease',
            '-n',
            RELEASE_NS,
            'steerer-controller',
          ])
        ).spec?.holderIdentity || undefined,
      30_000,
    );
    expect(holder).toMatch(/_\d+$/);
  });

  it('admits the seed Rollout and carries it through to promotion, as the seed shows', async () => {
    await applyYaml(seedYaml('rollout.yaml', NS));
    await waitSucceeded('the seed rollout to succeed');
    // The steps in order; a halt or wait in between (a slow Prometheus) is no RBAC matter.
    const log = (await messages()).filter((m) =>
      /^(Starting|Advance|Copying|Promotion complete)/.test(m),
    );
    const id = `podinfo.${NS}`;
    expect(log).toEqual([
      `Starting rollout for ${id}`,
      ...[10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((w) => `Advance rollout ${id} weight ${w}`),
      `Copying podinfo-canary.${NS} template spec to ${id}`,
      `Promotion complete! Scaling down podinfo-canary.${NS}`,
    ]);
    expect(await vsWeights(NS, 'podinfo')).toEqual([100, 0]);
    expect((await deploymentOf(NS, 'podinfo')).image).toBe('quay.io/stefanprodan/podinfo:1.2.0');
    await waitFor(
      'the canary to scale to zero',
      async () => (await deploymentOf(NS, 'podinfo-canary')).replicas === 0,
    );
  });

  it('ships the next release: the mutating webhook stamps it, the controller promotes it', async () => {
    const before = await rolloutStatus(NS, 'podinfo');
    await applyYaml(
      seedYaml('canary.yaml', NS).replace(
        'quay.io/stefanprodan/podinfo:1.2.0',
        'quay.io/stefanprodan/podinfo:1.3.0',
      ),
    );
    // Only the webhook writes this annotation, in the same write as the apply.
    const canary = await deploymentOf(NS, 'podinfo-canary');
    expect(canary.annotations['steerer.io/revision']).toMatch(/\S/);
    await waitFor(
      'the new release to start',
      async () => (await rolloutStatus(NS, 'podinfo')).canaryRevision !== before.canaryRevision,
      60_000,
    );
    await waitSucceeded('the second release to succeed');
    expect((await deploymentOf(NS, 'podinfo')).image).toBe('quay.io/stefanprodan/podinfo:1.3.0');
    expect(await vsWeights(NS, 'podinfo')).toEqual([100, 0]);
    expect((await messages()).at(-1)).toBe(`Promotion complete! Scaling down podinfo-canary.${NS}`);
  });

  it('refuses, through the webhook, a second Rollout of the same Deployments', async () => {
    const twin = seedYaml('rollout.yaml', NS).replace(
      /^ {2}name: podinfo$/m,
      '  name: podinfo-twin',
    );
    expect(twin).toContain('name: podinfo-twin');
    const r = await kubectlResult(['apply', '-f', '-'], twin);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('rollouts.webhook.steerer.io');
    expect(r.stderr).toContain('is already the');
  });

  it('neither process was refused anything it asked for', () => {
    expect(forbidden(controller)).toEqual([]);
    expect(forbidden(webhook)).toEqual([]);
  });

  it('the ServiceAccounts may do exactly what the processes need (kubectl auth can-i)', async () => {
    const sys = ['-n', RELEASE_NS];
    const app = ['-n', NS];
    const cases: [string, string[], 'yes' | 'no'][] = [
      // The controller: what it does…
      [CONTROLLER_SA, ['list', 'rollouts.apps.weave.works', '-A'], 'yes'],
      [
        CONTROLLER_SA,
        ['update', 'rollouts.apps.weave.works', '--subresource=status', ...app],
        'yes',
      ],
      // Its finalizer steerer.io/cleanup and handled steerer.io/request annotations.
      [CONTROLLER_SA, ['patch', 'rollouts.apps.weave.works', ...app], 'yes'],
      [
        CONTROLLER_SA,
        ['update', 'rollouts.apps.weave.works', '--subresource=finalizers', ...app],
        'yes',
      ],
      [CONTROLLER_SA, ['patch', 'deployments.apps', ...app], 'yes'],
      // A Deployment, Service or route object cached as a skeleton is read whole once.
      [CONTROLLER_SA, ['get', 'deployments.apps', ...app], 'yes'],
      [CONTROLLER_SA, ['get', 'services', ...app], 'yes'],
      [CONTROLLER_SA, ['get', 'virtualservices.networking.istio.io', ...app], 'yes'],
      [CONTROLLER_SA, ['patch', 'virtualservices.networking.istio.io', ...app], 'yes'],
      [CONTROLLER_SA, ['patch', 'httproutes.gateway.networking.k8s.io', ...app], 'yes'],
      [CONTROLLER_SA, ['watch', 'httproutes.gateway.networking.k8s.io', '-A'], 'yes'],
      [CONTROLLER_SA, ['watch', 'horizontalpodautoscalers.autoscaling', '-A'], 'yes'],
      [CONTROLLER_SA, ['watch', 'destinationrules.networking.istio.io', '-A'], 'yes'],
      [CONTROLLER_SA, ['create', 'events', ...app], 'yes'],
      [CONTROLLER_SA, ['update', 'leases.coordination.k8s.io/steerer-controller', ...sys], 'yes'],
      // …and what it must not.
      [CONTROLLER_SA, ['delete', 'deployments.apps', ...app], 'no'],
      [CONTROLLER_SA, ['create', 'deployments.apps', ...app], 'no'],
      [CONTROLLER_SA, ['update', 'rollouts.apps.weave.works', ...app], 'no'],
      [CONTROLLER_SA, ['delete', 'rollouts.apps.weave.works', ...app], 'no'],
      [CONTROLLER_SA, ['create', 'rollouts.apps.weave.works', ...app], 'no'],
      [CONTROLLER_SA, ['get', 'secrets', ...sys], 'no'],
      [CONTROLLER_SA, ['get', `secrets/${SECRET}`, ...sys], 'no'],
      [CONTROLLER_SA, ['list', 'secrets', '-A'], 'no'],
      [CONTROLLER_SA, ['create', 'pods', ...app], 'no'],
      [CONTROLLER_SA, ['patch', 'services', ...app], 'no'],
      [CONTROLLER_SA, ['patch', 'destinationrules.networking.istio.io', ...app], 'no'],
      [CONTROLLER_SA, ['delete', 'httproutes.gateway.networking.k8s.io', ...app], 'no'],
      [CONTROLLER_SA, ['list', 'referencegrants.gateway.networking.k8s.io', ...app], 'no'],
      [CONTROLLER_SA, ['patch', 'gateways.gateway.networking.k8s.io', ...app], 'no'],
      [
        CONTROLLER_SA,
        ['update', 'leases.coordination.k8s.io/kube-controller-manager', '-n', 'kube-system'],
        'no',
      ],
      [CONTROLLER_SA, ['update', 'leases.coordination.k8s.io/other', ...sys], 'no'],
      [CONTROLLER_SA, ['patch', `validatingwebhookconfigurations/${CONFIG}`], 'no'],
      [CONTROLLER_SA, ['impersonate', 'serviceaccounts', ...sys], 'no'],
      // The webhook: what it does…
      [WEBHOOK_SA, ['get', `secrets/${SECRET}`, ...sys], 'yes'],
      [WEBHOOK_SA, ['update', `secrets/${SECRET}`, ...sys], 'yes'],
      [WEBHOOK_SA, ['list', 'rollouts.apps.weave.works', '-A'], 'yes'],
      [WEBHOOK_SA, ['get', 'deployments.apps', ...app], 'yes'],
      [WEBHOOK_SA, ['get', 'virtualservices.networking.istio.io', ...app], 'yes'],
      [WEBHOOK_SA, ['get', 'httproutes.gateway.networking.k8s.io', ...app], 'yes'],
      [WEBHOOK_SA, ['list', 'referencegrants.gateway.networking.k8s.io', ...app], 'yes'],
      [WEBHOOK_SA, ['list', 'destinationrules.networking.istio.io', ...app], 'yes'],
      [WEBHOOK_SA, ['patch', `validatingwebhookconfigurations/${CONFIG}`], 'yes'],
      [WEBHOOK_SA, ['patch', `mutatingwebhookconfigurations/${CONFIG}`], 'yes'],
      // …and what it must not.
      [WEBHOOK_SA, ['get', 'secrets/sh.helm.release.v1.steerer.v1', ...sys], 'no'],
      [WEBHOOK_SA, ['get', 'secrets/other', ...sys], 'no'],
      [WEBHOOK_SA, ['list', 'secrets', ...sys], 'no'],
      [WEBHOOK_SA, ['create', 'secrets', ...sys], 'no'],
      [WEBHOOK_SA, ['delete', `secrets/${SECRET}`, ...sys], 'no'],
      [WEBHOOK_SA, ['get', `secrets/${SECRET}`, ...app], 'no'],
      [WEBHOOK_SA, ['patch', 'validatingwebhookconfigurations/someone-elses'], 'no'],
      [WEBHOOK_SA, ['create', 'validatingwebhookconfigurations'], 'no'],
      [WEBHOOK_SA, ['list', 'deployments.apps', ...app], 'no'],
      [WEBHOOK_SA, ['patch', 'deployments.apps', ...app], 'no'],
      [WEBHOOK_SA, ['create', 'pods', ...app], 'no'],
      [WEBHOOK_SA, ['update', 'rollouts.apps.weave.works', '--subresource=status', ...app], 'no'],
      [WEBHOOK_SA, ['patch', 'rollouts.apps.weave.works', ...app], 'no'],
      // It answers with patches; it never writes route objects itself.
      [WEBHOOK_SA, ['patch', 'httproutes.gateway.networking.k8s.io', ...app], 'no'],
      [WEBHOOK_SA, ['patch', 'virtualservices.networking.istio.io', ...app], 'no'],
      [WEBHOOK_SA, ['create', 'referencegrants.gateway.networking.k8s.io', ...app], 'no'],
      [WEBHOOK_SA, ['patch', 'destinationrules.networking.istio.io', ...app], 'no'],
    ];
    const answers = await Promise.all(
      cases.map(async ([as, args]) => [as, args.join(' '), await canI(as, args)]),
    );
    expect(answers).toEqual(cases.map(([as, args, want]) => [as, args.join(' '), want]));
  });

  it('the ServiceAccounts are refused for real when they step outside', async () => {
    const pod = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'intruder', namespace: NS },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    const attempts: [string, string[], string?][] = [
      [CONTROLLER_SA, ['delete', 'deployment', '-n', NS, 'podinfo']],
      [CONTROLLER_SA, ['get', 'secret', '-n', RELEASE_NS, SECRET]],
      [CONTROLLER_SA, ['create', '-f', '-'], pod],
      [WEBHOOK_SA, ['get', 'secret', '-n', RELEASE_NS, 'sh.helm.release.v1.steerer.v1']],
      [WEBHOOK_SA, ['create', 'secret', 'generic', 'minted', '-n', RELEASE_NS]],
      [WEBHOOK_SA, ['delete', 'secret', '-n', RELEASE_NS, SECRET]],
    ];
    for (const [as, args, input] of attempts) {
      const r = await kubectlResult([...args, `--as=${as}`], input);
      expect([as, args.join(' '), r.code === 0 ? r.stdout : r.stderr]).toEqual([
        as,
        args.join(' '),
        expect.stringContaining('is forbidden'),
      ]);
    }
    expect((await deploymentOf(NS, 'podinfo')).image).toContain('podinfo');
    expect((await secretData())['tls.crt']).toBeDefined();
  });

  it('uninstalls cleanly: no webhook configuration is left pointing at nothing', async () => {
    await stopProcesses();
    await uninstall();
    await waitFor(
      'nothing of the release left',
      async () => (await leftovers()).length === 0,
      120_000,
      500,
    );
    for (const kind of KINDS) {
      expect((await kubectlResult(['get', kind, CONFIG])).code).not.toBe(0);
    }
  });
});
