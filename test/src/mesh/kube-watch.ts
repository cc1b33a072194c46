// The only module that talks to the API server (through @kubernetes/client-node 1.4).
// It provides a ResourceSource per resource the simulator reads — VirtualServices in
// networking.istio.io (v1, else v1beta1, else v1alpha3: whichever is served), Services and
// Deployments — and nothing else: no other custom resource is ever listed or watched.

import {
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Watch,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { Logger } from './log.js';
import type { ListResult, ResourceSource, WatchEvent } from './reflector.js';
import type { Resource } from './store.js';

export const ISTIO_GROUP = 'networking.istio.io';
export const VIRTUAL_SERVICE_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;
export type VirtualServiceVersion = (typeof VIRTUAL_SERVICE_VERSIONS)[number];

/** The preferred VirtualService version among those that serve `virtualservices`. */
export function chooseVirtualServiceVersion(
  servesVirtualServices: ReadonlySet<string>,
): VirtualServiceVersion | undefined {
  return VIRTUAL_SERVICE_VERSIONS.find((v) => servesVirtualServices.has(v));
}

export function collectionPath(
  resource: Resource,
  namespace: string | undefined,
  vsVersion: string,
): string {
  const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  switch (resource) {
    case 'services':
      return `/api/v1${scope}/services`;
    case 'deployments':
      return `/apis/apps/v1${scope}/deployments`;
    case 'virtualservices':
      return `/apis/${ISTIO_GROUP}/${vsVersion}${scope}/virtualservices`;
  }
}

function asList(value: unknown, what: string): ListResult {
  if (typeof value !== 'object' || value === null)
    throw new Error(`${what}: list is not an object`);
  const v = value as { items?: unknown; metadata?: { resourceVersion?: unknown } };
  if (!Array.isArray(v.items)) throw new Error(`${what}: list has no items`);
  const rv = v.metadata?.resourceVersion;
  return { items: v.items as unknown[], resourceVersion: typeof rv === 'string' ? rv : '' };
}

/** Adapts client-node's callback Watch to a promise that settles when the stream ends. */
function watchStream(
  watch: Watch,
  path: string,
  resourceVersion: string,
  timeoutSeconds: number,
  onEvent: (event: WatchEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let request: AbortController | undefined;
    const onAbort = (): void => request?.abort();
    const finish = (error: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error === null || error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    watch
      .watch(
        path,
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (type: string, object: unknown) => onEvent({ type, object }),
        (error: unknown) => finish(error),
      )
      .then(
        (controller) => {
          request = controller;
          if (signal.aborted) controller.abort();
        },
        (error: unknown) => finish(error ?? new Error('watch failed')),
      );
  });
}

export interface KubeSources {
  readonly sources: Readonly<Record<Resource, ResourceSource>>;
  /** The VirtualService version in use, once discovered. */
  virtualServiceVersion(): string | undefined;
}

export function createKubeSources(
  kc: KubeConfig,
  options: { namespace?: string; log: Logger },
): KubeSources {
  const { namespace, log } = options;
  const watch = new Watch(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apis = kc.makeApiClient(ApisApi);
  let vsVersion: VirtualServiceVersion | undefined;

  /** Re-run on every VirtualService list, so installing or upgrading the CRD is picked up. */
  const discover = async (): Promise<VirtualServiceVersion> => {
    const groups = await apis.getAPIVersions();
    const group = groups.groups.find((g) => g.name === ISTIO_GROUP);
    const served = new Set(group?.versions.map((v) => v.version) ?? []);
    const withVs = new Set<string>();
    for (const version of VIRTUAL_SERVICE_VERSIONS) {
      if (!served.has(version)) continue;
      const resources = await custom.getAPIResources({ group: ISTIO_GROUP, version });
      if (resources.resources.some((r) => r.name === 'virtualservices')) {
        withVs.add(version);
        break; // versions are tried in order of preference
      }
    }
    const chosen = chooseVirtualServiceVersion(withVs);
    if (!chosen) {
      throw new Error(
        `${ISTIO_GROUP} does not serve virtualservices (is the Istio CRD installed?)`,
      );
    }
    if (chosen !== vsVersion) {
      log.info('virtualservice version discovered', { group: ISTIO_GROUP, version: chosen });
      vsVersion = chosen;
    }
    return chosen;
  };

  const source = (
    resource: Resource,
    list: () => Promise<ListResult>,
    path: () => string,
  ): ResourceSource => ({
    resource,
    list,
    watch: (rv, timeoutSeconds, onEvent, signal) =>
      watchStream(watch, path(), rv, timeoutSeconds, onEvent, signal),
  });

  const sources: Record<Resource, ResourceSource> = {
    services: source(
      'services',
      async () =>
        asList(
          namespace === undefined
            ? await core.listServiceForAllNamespaces()
            : await core.listNamespacedService({ namespace }),
          'services',
        ),
      () => collectionPath('services', namespace, ''),
    ),
    deployments: source(
      'deployments',
      async () =>
        asList(
          namespace === undefined
            ? await apps.listDeploymentForAllNamespaces()
            : await apps.listNamespacedDeployment({ namespace }),
          'deployments',
        ),
      () => collectionPath('deployments', namespace, ''),
    ),
    virtualservices: source(
      'virtualservices',
      async () => {
        const version = await discover();
        const plural = 'virtualservices';
        const raw: unknown =
          namespace === undefined
            ? await custom.listClusterCustomObject({ group: ISTIO_GROUP, version, plural })
            : await custom.listNamespacedCustomObject({
                group: ISTIO_GROUP,
                version,
                namespace,
                plural,
              });
        return asList(raw, 'virtualservices');
      },
      () => collectionPath('virtualservices', namespace, vsVersion ?? VIRTUAL_SERVICE_VERSIONS[0]),
    ),
  };
  return { sources, virtualServiceVersion: () => vsVersion };
}
