// The seed's install command against the real local cluster: `helm upgrade --install` with
// the seed's values (plus the image, which has no default) succeeds, succeeds again without
// changing anything (and without wiping what Steerer wrote at run time: the caBundle, its
// certificate, the leader Lease), refuses invalid values and a missing image before
// touching the cluster, and `helm uninstall` leaves nothing but the CRD.
//
// kwok runs no containers: the chart's pods exist and report Ready but run nothing, so the
// webhooks are limited to a namespace where nothing happens (webhookScopeValues).

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kubectl, kubectlJson, kubectlResult, waitFor } from './harness.js';
import {
  INSTANCE_LABEL,
  RELEASE,
  RELEASE_NS,
  helmOnCluster,
  leftovers,
  mustUpgradeInstall,
  uninstall,
  upgradeInstall,
  webhookScopeValues,
} from '../chart/release.js';
import { IMAGE_REPOSITORY, IMAGE_SET, IMAGE_TAG, NO_IMAGE_MESSAGE } from '../chart/helm.js';

const CONFIG = 'steerer-webhook';
const KINDS = ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration'] as const;

interface WebhookConfiguration {
  metadata: { generation: number };
  webhooks: { name: string; clientConfig: { caBundle?: string } }[];
}

/** A real CA certificate (the cluster's) to play the part of the one the webhook publishes. */
async function someCA(): Promise<string> {
  const config = await kubectlJson<{
    clusters: {
      cluster: { 'certificate-authority'?: string; 'certificate-authority-data'?: string };
    }[];
  }>(['config', 'view', '--minify', '--raw']);
  const c = config.clusters[0]?.cluster ?? {};
  if (c['certificate-authority-data'])
    return Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8');
  if (c['certificate-authority']) return readFileSync(c['certificate-authority'], 'utf8');
  throw new Error('the kubeconfig names no cluster CA');
}

async function caBundles(): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const kind of KINDS) {
    const c = await kubectlJson<WebhookConfiguration>(['get', kind, CONFIG]);
    for (const w of c.webhooks) out[`${kind}/${w.name}`] = w.clientConfig.caBundle;
  }
  return out;
}

/** What an upgrade must leave alone: generations, run-time data, the Lease holder. */
async function state(): Promise<Record<string, unknown>> {
  const generation = async (what: string[]): Promise<number> =>
    (await kubectlJson<{ metadata: { generation: number } }>(['get', ...what])).metadata.generation;
  const secret = await kubectlJson<{ data?: Record<string, string> }>([
    'get',
    'secret',
    '-n',
    RELEASE_NS,
    'steerer-webhook-tls',
  ]);
  const lease = await kubectlJson<{ spec?: { holderIdentity?: string } }>([
    'get',
    'lease',
    '-n',
    RELEASE_NS,
    'steerer-controller',
  ]);
  return {
    controller: await generation(['deployment', '-n', RELEASE_NS, 'steerer-controller']),
    webhook: await generation(['deployment', '-n', RELEASE_NS, 'steerer-webhook']),
    mutating: await generation(['mutatingwebhookconfiguration', CONFIG]),
    validating: await generation(['validatingwebhookconfiguration', CONFIG]),
    caBundles: await caBundles(),
    secret: secret.data,
    leaseHolder: lease.spec?.holderIdentity,
  };
}

describe('helm install, upgrade and uninstall of the chart', () => {
  let scope: string;

  beforeAll(async () => {
    scope = webhookScopeValues('helm-e2e');
    await uninstall();
  });

  afterAll(async () => {
    await uninstall();
  });

  it('refuses invalid values before creating anything, naming the value', async () => {
    const r = await upgradeInstall([
      '-f',
      scope,
      ...IMAGE_SET,
      '--set',
      'controlLoopInterval=banana',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('controlLoopInterval');
    expect(r.stderr).toContain('banana');
    expect(await leftovers()).toEqual([]);
  });

  it('refuses to install without an image, saying how to get one, before creating anything', async () => {
    const r = await upgradeInstall(['-f', scope]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.replace(/\s+/g, ' ')).toContain(NO_IMAGE_MESSAGE);
    expect(await leftovers()).toEqual([]);
    const history = await helmOnCluster(['history', RELEASE, `--namespace=${RELEASE_NS}`]);
    expect(history.code).not.toBe(0);
  });

  it("installs with the seed's command and an image", async () => {
    const out = await mustUpgradeInstall(['-f', scope, ...IMAGE_SET]);
    expect(out).toContain('STATUS: deployed');
    expect(out).toContain('REVISION: 1');
    // NOTES.txt tells the user what to do next.
    expect(out).toContain('kind: Rollout');
    for (const d of ['steerer-controller', 'steerer-webhook']) {
      await kubectl([
        'wait',
        '-n',
        RELEASE_NS,
        '--for=condition=Available',
        '--timeout=60s',
        `deployment/${d}`,
      ]);
    }
    const controller = await kubectlJson<{
      spec: {
        template: {
          spec: {
            containers: {
              image: string;
              args: string[];
              env: { name: string; value?: string }[];
            }[];
          };
        };
      };
    }>(['get', 'deployment', '-n', RELEASE_NS, 'steerer-controller']);
    const c = controller.spec.template.spec.containers[0];
    expect(c?.args).toEqual(
      expect.arrayContaining([
        '--metrics-server=http://prometheus.istio-system:9090',
        '--control-loop-interval=1m',
      ]),
    );
    expect(c?.image).toBe(`${IMAGE_REPOSITORY}:${IMAGE_TAG}`);
    expect(c?.env).toEqual(
      expect.arrayContaining([
        { name: 'ROLLBACK_ON_FAILURE', value: 'true' },
        { name: 'PROGRESS_DEADLINE', value: '10m' },
        { name: 'ROUTE_SETTLE_TIME', value: '5s' },
      ]),
    );
    const pods = await kubectlJson<{ items: unknown[] }>([
      'get',
      'pods',
      '-n',
      RELEASE_NS,
      '-l',
      INSTANCE_LABEL,
    ]);
    expect(pods.items).toHaveLength(3);
    expect(await kubectl(['get', 'crd', 'rollouts.apps.weave.works', '-o', 'name'])).toContain(
      'rollouts.apps.weave.works',
    );
    // No caBundle yet: the webhook publishes it when it first runs.
    // Six webhooks: deployments and two route-weights (mutating), rollouts and two routes.
    expect(Object.values(await caBundles())).toEqual(Array.from({ length: 6 }, () => undefined));
  });

  it('upgrades again without changing anything Steerer wrote at run time', async () => {
    // Play the running Steerer: publish a CA, fill the TLS Secret, take the Lease.
    const ca = Buffer.from(await someCA()).toString('base64');
    expect(Buffer.from(ca, 'base64').toString()).toContain('BEGIN CERTIFICATE');
    for (const kind of KINDS) {
      const c = await kubectlJson<WebhookConfiguration>(['get', kind, CONFIG]);
      const ops = c.webhooks.map((_, i) => ({
        op: 'add',
        path: `/webhooks/${i}/clientConfig/caBundle`,
        value: ca,
      }));
      await kubectl(['patch', kind, CONFIG, '--type=json', '-p', JSON.stringify(ops)]);
    }
    await kubectl([
      'patch',
      'secret',
      '-n',
      RELEASE_NS,
      'steerer-webhook-tls',
      '--type=merge',
      '-p',
      JSON.stringify({ data: { 'ca.crt': ca, 'tls.crt': ca } }),
    ]);
    await kubectl([
      'patch',
      'lease',
      '-n',
      RELEASE_NS,
      'steerer-controller',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: { holderIdentity: 'steerer-controller-0_1', leaseDurationSeconds: 15 },
      }),
    ]);
    const before = await state();
    expect(Object.values(before.caBundles as Record<string, string>)).toEqual(
      Array.from({ length: 6 }, () => ca),
    );

    for (const revision of [2, 3]) {
      const out = await mustUpgradeInstall(['-f', scope, ...IMAGE_SET]);
      expect(out).toContain(`REVISION: ${revision}`);
      expect(await state()).toEqual(before);
    }
    // The carried-over caBundle is in the release's own manifest now.
    const manifest = await helmOnCluster(['get', 'manifest', RELEASE, `--namespace=${RELEASE_NS}`]);
    expect(manifest.stdout).toContain(`caBundle: ${ca}`);
    const history = await helmOnCluster(['history', RELEASE, `--namespace=${RELEASE_NS}`]);
    expect(history.stdout).toMatch(/^3\s.*deployed/m);
  });

  it('uninstalls, leaving nothing of Steerer behind but the CRD', async () => {
    await uninstall();
    await waitFor(
      'every object of the release to be gone (pods terminate asynchronously)',
      async () => (await leftovers()).length === 0 || undefined,
      120_000,
      500,
    ).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\nleft: ${(await leftovers()).join(', ')}`);
    });
    expect(await leftovers()).toEqual([]);
    const crd = await kubectlResult(['get', 'crd', 'rollouts.apps.weave.works']);
    expect(crd.code).toBe(0);
  });
});
