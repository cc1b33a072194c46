// The only module that talks to the API server (through @kubernetes/client-node 1.4).
// It provides a ResourceSource per resource the simulator reads — VirtualServices and
// DestinationRules in networking.istio.io (v1, else v1beta1, else v1alpha3: whichever is
// served), Services,
// Deployments, and the Gateway API's HTTPRoutes, Gateways and ReferenceGrants in
// gateway.networking.k8s.io (v1, else v1beta1) — and nothing else: no other custom
// resource is ever listed or watched. Lists come in pages of LIST_PAGE_SIZE; with a label
// selector (--label-selector) lists and watches ask the API server for matching objects only.
//
// The Gateway API CRDs may be missing, or be removed and installed again while the
// simulator runs. A Gateway API resource that discovery does not find lists as empty (so
// the simulator is ready and routes nothing through it), and its "watch" polls discovery
// until the resource is served again, then asks the reflector to relist: no restart, no
// error logged every few seconds. A watch that fails with 404 because the CRD just went
// away does the same.

import {
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  Watch,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { Logger } from './log.js';
import { GATEWAY_API_GROUP } from './parse-gateway-api.js';
import { statusOf, type ListResult, type ResourceSource, type WatchEvent } from './reflector.js';
import type { Resource } from './store.js';

export const ISTIO_GROUP = 'networking.istio.io';
export const VIRTUAL_SERVICE_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;
/** DestinationRule versions in order of preference (the same as VirtualService's). */
export const DESTINATION_RULE_VERSIONS = VIRTUAL_SERVICE_VERSIONS;
export type VirtualServiceVersion = (typeof VIRTUAL_SERVICE_VERSIONS)[number];

export type GatewayApiResource = 'httproutes' | 'gateways' | 'referencegrants';
/** Versions of each Gateway API resource in order of preference; the first served is used. */
export const GATEWAY_API_VERSIONS: Readonly<Record<GatewayApiResource, readonly string[]>> = {
  httproutes: ['v1', 'v1beta1'],
  gateways: ['v1', 'v1beta1'],
  referencegrants: ['v1', 'v1beta1'],
};
/** How often a missing Gateway API resource's discovery is checked again. */
export const ABSENT_POLL_MS = 3000;

/** The preferred VirtualService version among those that serve `virtualservices`. */
export function chooseVirtualServiceVersion(
  servesVirtualServices: ReadonlySet<string>,
): VirtualServiceVersion | undefined {
  return VIRTUAL_SERVICE_VERSIONS.find((v) => servesVirtualServices.has(v));
}

/** `version` is the custom resource's version (ignored for Services and Deployments). */
export function collectionPath(
  resource: Resource,
  namespace: string | undefined,
  version: string,
): string {
  const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  switch (resource) {
    case 'services':
      return `/api/v1${scope}/services`;
    case 'deployments':
      return `/apis/apps/v1${scope}/deployments`;
    case 'virtualservices':
      return `/apis/${ISTIO_GROUP}/${version}${scope}/virtualservices`;
    case 'destinationrules':
      return `/apis/${ISTIO_GROUP}/${version}${scope}/destinationrules`;
    case 'httproutes':
    case 'gateways':
    case 'referencegrants':
      return `/apis/${GATEWAY_API_GROUP}/${version}${scope}/${resource}`;
  }
}

/** Resolves after ms, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function asList(value: unknown, what: string): ListResult {
  if (typeof value !== 'object' || value === null)
    throw new Error(`${what}: list is not an object`);
  const v = value as { items?: unknown; metadata?: { resourceVersion?: unknown } };
  if (!Array.isArray(v.items)) throw new Error(`${what}: list has no items`);
  const rv = v.metadata?.resourceVersion;
  return { items: v.items as unknown[], resourceVersion: typeof rv === 'string' ? rv : '' };
}

/** Items per list page: lists come in pages, as client-go's reflectors ask for them. */
export const LIST_PAGE_SIZE = 500;

/** Query options every list shares: the label selector (if any) and the page. */
export interface PageQuery {
  labelSelector?: string;
  limit: number;
  _continue?: string;
}

/**
 * Lists a collection page by page (`limit`, then `continue` until the server gives none), so a
 * namespace of tens of thousands of objects never arrives as one response the API server
 * must build whole. The pages are one snapshot; the last page's resourceVersion is the list's.
 */
export async function pagedList(
  what: string,
  labelSelector: string | undefined,
  fetchPage: (query: PageQuery) => Promise<unknown>,
  pageSize = LIST_PAGE_SIZE,
): Promise<ListResult> {
  const items: unknown[] = [];
  let cont: string | undefined;
  for (;;) {
    const page: unknown = await fetchPage({
      ...(labelSelector === undefined ? {} : { labelSelector }),
      limit: pageSize,
      ...(cont === undefined ? {} : { _continue: cont }),
    });
    const list = asList(page, what);
    for (const item of list.items) items.push(item);
    // client-node's typed lists name the token `_continue`; custom object lists are raw JSON.
    const meta = (page as { metadata?: { continue?: unknown; _continue?: unknown } }).metadata;
    const next = meta?._continue ?? meta?.continue;
    if (typeof next !== 'string' || next === '')
      return { items, resourceVersion: list.resourceVersion };
    cont = next;
  }
}

/** Adapts client-node's callback Watch to a promise that settles when the stream ends. */
function watchStream(
  watch: Watch,
  path: string,
  labelSelector: string | undefined,
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
        {
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          ...(labelSelector === undefined ? {} : { labelSelector }),
        },
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
  /** The version in use per Gateway API resource; null while its CRD is not installed. */
  gatewayApiVersions(): Readonly<Record<GatewayApiResource, string | null>>;
}

export function createKubeSources(
  kc: KubeConfig,
  options: {
    namespace?: string;
    labelSelector?: string;
    log: Logger;
    absentPollMs?: number;
    /** Items per list page (default LIST_PAGE_SIZE). */
    pageSize?: number;
  },
): KubeSources {
  const { namespace, labelSelector, log } = options;
  const pageSize = options.pageSize ?? LIST_PAGE_SIZE;
  const list = (what: string, fetchPage: (query: PageQuery) => Promise<unknown>) =>
    pagedList(what, labelSelector, fetchPage, pageSize);
  const absentPollMs = options.absentPollMs ?? ABSENT_POLL_MS;
  const watch = new Watch(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apis = kc.makeApiClient(ApisApi);
  let vsVersion: VirtualServiceVersion | undefined;
  let drVersion: string | undefined;

  /** The first of `versions` (in order) whose group version serves `plural`, if any. */
  const discoverVersion = async (
    group: string,
    plural: string,
    versions: readonly string[],
  ): Promise<string | undefined> => {
    const groups = await apis.getAPIVersions();
    const served = new Set(
      groups.groups.find((g) => g.name === group)?.versions.map((v) => v.version) ?? [],
    );
    for (const version of versions) {
      if (!served.has(version)) continue;
      const resources = await custom.getAPIResources({ group, version });
      if (resources.resources.some((r) => r.name === plural)) return version;
    }
    return undefined;
  };

  /** Re-run on every VirtualService list, so installing or upgrading the CRD is picked up. */
  const discover = async (): Promise<VirtualServiceVersion> => {
    const found = await discoverVersion(ISTIO_GROUP, 'virtualservices', VIRTUAL_SERVICE_VERSIONS);
    const chosen = chooseVirtualServiceVersion(new Set(found === undefined ? [] : [found]));
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

  /** Re-run on every DestinationRule list; Istio's CRDs bring them with VirtualServices. */
  const discoverDestinationRules = async (): Promise<string> => {
    const found = await discoverVersion(ISTIO_GROUP, 'destinationrules', DESTINATION_RULE_VERSIONS);
    if (found === undefined) {
      throw new Error(
        `${ISTIO_GROUP} does not serve destinationrules (is the Istio CRD installed?)`,
      );
    }
    if (found !== drVersion) {
      log.info('destinationrule version discovered', { group: ISTIO_GROUP, version: found });
      drVersion = found;
    }
    return found;
  };

  /** Version in use per Gateway API resource: undefined before discovery, null when absent. */
  const gwVersions: Record<GatewayApiResource, string | null | undefined> = {
    httproutes: undefined,
    gateways: undefined,
    referencegrants: undefined,
  };
  const discoverGatewayApi = async (resource: GatewayApiResource): Promise<string | null> => {
    const found =
      (await discoverVersion(GATEWAY_API_GROUP, resource, GATEWAY_API_VERSIONS[resource])) ?? null;
    if (found !== gwVersions[resource]) {
      if (found === null) {
        log.info('gateway API resource not served; treated as empty until its CRD is installed', {
          group: GATEWAY_API_GROUP,
          resource,
        });
      } else {
        log.info('gateway API version discovered', {
          group: GATEWAY_API_GROUP,
          resource,
          version: found,
        });
      }
      gwVersions[resource] = found;
    }
    return found;
  };

  const gatewayApiSource = (resource: GatewayApiResource): ResourceSource => {
    const path = (): string =>
      collectionPath(
        resource,
        namespace,
        gwVersions[resource] ?? GATEWAY_API_VERSIONS[resource][0] ?? 'v1',
      );
    /** While the resource is not served: check discovery until it is, then relist. */
    const awaitServed = async (
      timeoutSeconds: number,
      signal: AbortSignal,
    ): Promise<void | 'relist'> => {
      const deadline = Date.now() + timeoutSeconds * 1000;
      while (!signal.aborted && Date.now() < deadline) {
        await pause(absentPollMs, signal);
        if (signal.aborted) return;
        if ((await discoverGatewayApi(resource)) !== null) return 'relist';
      }
      return undefined;
    };
    return {
      resource,
      list: async () => {
        const version = await discoverGatewayApi(resource);
        if (version === null) return { items: [], resourceVersion: '' };
        const group = GATEWAY_API_GROUP;
        return list(resource, (q) =>
          namespace === undefined
            ? custom.listClusterCustomObject({ group, version, plural: resource, ...q })
            : custom.listNamespacedCustomObject({
                group,
                version,
                namespace,
                plural: resource,
                ...q,
              }),
        );
      },
      watch: async (rv, timeoutSeconds, onEvent, signal) => {
        if (gwVersions[resource] === null) return awaitServed(timeoutSeconds, signal);
        try {
          await watchStream(watch, path(), labelSelector, rv, timeoutSeconds, onEvent, signal);
          return undefined;
        } catch (error) {
          // The CRD went away under an open or reopening watch: relist (as empty), no error.
          if (statusOf(error) === 404 && (await discoverGatewayApi(resource)) === null) {
            return 'relist';
          }
          throw error;
        }
      },
    };
  };

  const source = (
    resource: Resource,
    list: () => Promise<ListResult>,
    path: () => string,
  ): ResourceSource => ({
    resource,
    list,
    watch: (rv, timeoutSeconds, onEvent, signal) =>
      watchStream(watch, path(), labelSelector, rv, timeoutSeconds, onEvent, signal),
  });

  const sources: Record<Resource, ResourceSource> = {
    services: source(
      'services',
      () =>
        list('services', (q) =>
          namespace === undefined
            ? core.listServiceForAllNamespaces(q)
            : core.listNamespacedService({ namespace, ...q }),
        ),
      () => collectionPath('services', namespace, ''),
    ),
    deployments: source(
      'deployments',
      () =>
        list('deployments', (q) =>
          namespace === undefined
            ? apps.listDeploymentForAllNamespaces(q)
            : apps.listNamespacedDeployment({ namespace, ...q }),
        ),
      () => collectionPath('deployments', namespace, ''),
    ),
    virtualservices: source(
      'virtualservices',
      async () => {
        const version = await discover();
        const plural = 'virtualservices';
        const group = ISTIO_GROUP;
        return list(plural, (q) =>
          namespace === undefined
            ? custom.listClusterCustomObject({ group, version, plural, ...q })
            : custom.listNamespacedCustomObject({ group, version, namespace, plural, ...q }),
        );
      },
      () => collectionPath('virtualservices', namespace, vsVersion ?? VIRTUAL_SERVICE_VERSIONS[0]),
    ),
    destinationrules: source(
      'destinationrules',
      async () => {
        const version = await discoverDestinationRules();
        const plural = 'destinationrules';
        const group = ISTIO_GROUP;
        return list(plural, (q) =>
          namespace === undefined
            ? custom.listClusterCustomObject({ group, version, plural, ...q })
            : custom.listNamespacedCustomObject({ group, version, namespace, plural, ...q }),
        );
      },
      () =>
        collectionPath('destinationrules', namespace, drVersion ?? DESTINATION_RULE_VERSIONS[0]),
    ),
    httproutes: gatewayApiSource('httproutes'),
    gateways: gatewayApiSource('gateways'),
    referencegrants: gatewayApiSource('referencegrants'),
  };
  return {
    sources,
    virtualServiceVersion: () => vsVersion,
    gatewayApiVersions: () => ({
      httproutes: gwVersions.httproutes ?? null,
      gateways: gwVersions.gateways ?? null,
      referencegrants: gwVersions.referencegrants ?? null,
    }),
  };
}
