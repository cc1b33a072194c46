// The chart installed for real on the local cluster, for the helm and RBAC e2e suites:
// the seed's install command, uninstall, and a search for anything a release left behind.

import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubectl, processEnv } from '../e2e/harness.js';
import type { RunResult } from './helm.js';
import { CHART, SEED_SET, helm } from './helm.js';

export const RELEASE = 'steerer';
/** The seed installs into istio-system. */
export const RELEASE_NS = 'istio-system';
export const CONTROLLER_SA = `system:serviceaccount:${RELEASE_NS}:steerer-controller`;
export const WEBHOOK_SA = `system:serviceaccount:${RELEASE_NS}:steerer-webhook`;
export const INSTANCE_LABEL = `app.kubernetes.io/instance=${RELEASE}`;

/** helm against the local cluster. */
export function helmOnCluster(args: readonly string[]): Promise<RunResult> {
  return helm(args, processEnv());
}

/**
 * A values file that limits the webhooks to one namespace. Suites share the cluster, and
 * a webhook that no process serves (kwok pods run nothing) would make every other suite's
 * writes wait for the call to time out before failurePolicy Ignore lets them through.
 */
export function webhookScopeValues(namespace: string): string {
  const file = join(tmpdir(), `steerer-values-${namespace}.yaml`);
  writeFileSync(
    file,
    stringify({
      webhook: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
    }),
  );
  return file;
}

/**
 * The seed's `helm upgrade --install` (with --create-namespace) plus `extra`. An install
 * that renders a Deployment must add IMAGE_SET: the chart has no default image.
 */
export function upgradeInstall(extra: readonly string[]): Promise<RunResult> {
  return helmOnCluster([
    'upgrade',
    '--install',
    RELEASE,
    CHART,
    `--namespace=${RELEASE_NS}`,
    '--create-namespace',
    ...SEED_SET,
    ...extra,
    '--wait',
    '--timeout=3m',
  ]);
}

export async function mustUpgradeInstall(extra: readonly string[]): Promise<string> {
  const r = await upgradeInstall(extra);
  if (r.code !== 0) throw new Error(`helm upgrade --install failed: ${r.stderr}`);
  return r.stdout;
}

export async function uninstall(): Promise<void> {
  const r = await helmOnCluster([
    'uninstall',
    RELEASE,
    `--namespace=${RELEASE_NS}`,
    '--ignore-not-found',
    '--wait',
    '--timeout=2m',
  ]);
  if (r.code !== 0) throw new Error(`helm uninstall failed: ${r.stderr}`);
}

const CLUSTER_KINDS = [
  'clusterroles',
  'clusterrolebindings',
  'mutatingwebhookconfigurations',
  'validatingwebhookconfigurations',
];
const NAMESPACED_KINDS = [
  'deployments',
  'replicasets',
  'pods',
  'services',
  'serviceaccounts',
  'secrets',
  'configmaps',
  'roles',
  'rolebindings',
  'leases.coordination.k8s.io',
  'poddisruptionbudgets',
];

async function names(args: string[]): Promise<string[]> {
  return (await kubectl([...args, '-o', 'name']))
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Everything of the release still in the cluster: by label, by name, and helm's records. */
export async function leftovers(): Promise<string[]> {
  const found = [
    ...(await names(['get', CLUSTER_KINDS.join(','), '-l', INSTANCE_LABEL])),
    ...(await names(['get', NAMESPACED_KINDS.join(','), '-A', '-l', INSTANCE_LABEL])),
    ...(await names(['get', 'secrets', '-n', RELEASE_NS, '-l', `owner=helm,name=${RELEASE}`])),
  ];
  for (const [kind, name, ns] of [
    ['clusterrole', 'steerer-controller', undefined],
    ['clusterrole', 'steerer-webhook', undefined],
    ['clusterrolebinding', 'steerer-controller', undefined],
    ['clusterrolebinding', 'steerer-webhook', undefined],
    ['mutatingwebhookconfiguration', 'steerer-webhook', undefined],
    ['validatingwebhookconfiguration', 'steerer-webhook', undefined],
    ['lease', 'steerer-controller', RELEASE_NS],
    ['secret', 'steerer-webhook-tls', RELEASE_NS],
  ] as const) {
    found.push(
      ...(await names(['get', kind, name, '--ignore-not-found', ...(ns ? ['-n', ns] : [])])),
    );
  }
  return [...new Set(found)].sort();
}
