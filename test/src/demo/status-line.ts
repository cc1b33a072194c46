// The demo's status line, from one consistent view of the cluster.
//
// Steerer records each decision in the Rollout's status first and then patches the
// VirtualService (reconciler: "record the decision first: actions follow only a decision
// that was saved"). So for a moment the status can be ahead of the route, never behind it.
// The demo used to read the status and the route with two separate requests; a step that
// landed between them gave a line no instant ever had: `weight 90 routes 0/100` (status
// read before the step to 100, route read after it).
//
// Now both come from one etcd revision: the Rollout list's resourceVersion (a consistent
// read, so the revision of that moment), then the VirtualService at exactly that
// revision. The line describes the cluster at that revision, and when the route there
// still differs from what the status decided, it says so: "routes 10/90 (moving to 0/100)".

import type { RolloutStatusView } from '../e2e/harness.js';

export interface Routes {
  primary: number;
  canary: number;
}

export interface Snapshot {
  /** The etcd revision both objects were read at. */
  revision: string;
  status: RolloutStatusView;
  /** The VirtualService's weights for the primary and canary hosts, if it has that route. */
  routes: Routes | undefined;
}

/** GETs an API path (e.g. with `kubectl get --raw`); rejects on an error answer. */
export type RawGet = (path: string) => Promise<unknown>;

interface RolloutItem {
  spec?: {
    primary?: { host?: string };
    canary?: { host?: string };
    virtualService?: { name?: string };
  };
  status?: RolloutStatusView;
}

interface VirtualServiceItem {
  spec?: { http?: { route?: { destination?: { host?: string }; weight?: number }[] }[] };
}

interface List<T> {
  metadata?: { resourceVersion?: string };
  items?: T[];
}

/** The weights Steerer writes to the route for a status (as the controller's planner does). */
export function decidedRoutes(status: RolloutStatusView): Routes {
  const w = status.canaryWeight ?? 0;
  if (status.phase === 'Progressing' || status.phase === 'Halted') {
    return { primary: 100 - w, canary: w };
  }
  if (status.phase === 'Promoting') return { primary: 0, canary: 100 };
  // Waiting, Initialized, Finalising, Succeeded, or no status yet.
  return { primary: 100, canary: 0 };
}

const sameHost = (destination: string | undefined, host: string | undefined): boolean =>
  !!destination && !!host && (destination === host || destination.startsWith(`${host}.`));

/** The weights of the VirtualService's http route to exactly the primary and canary hosts. */
export function routeWeights(
  vs: VirtualServiceItem | undefined,
  primaryHost: string | undefined,
  canaryHost: string | undefined,
): Routes | undefined {
  for (const http of vs?.spec?.http ?? []) {
    const route = http.route ?? [];
    const primary = route.find((r) => sameHost(r.destination?.host, primaryHost));
    const canary = route.find((r) => sameHost(r.destination?.host, canaryHost));
    if (primary && canary && route.length === 2) {
      return { primary: primary.weight ?? 0, canary: canary.weight ?? 0 };
    }
  }
  return undefined;
}

/**
 * Reads a Rollout and its VirtualService as they both were at one etcd revision. An
 * exact-revision read can fail when the revision is already compacted or the server's
 * cache has not caught up yet: then it starts over from a fresh revision, a few times.
 */
export async function readSnapshot(
  get: RawGet,
  namespace: string,
  name: string,
  attempts = 3,
): Promise<Snapshot> {
  const ns = encodeURIComponent(namespace);
  const byName = (n: string): string => `fieldSelector=${encodeURIComponent(`metadata.name=${n}`)}`;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const rollouts = (await get(
      `/apis/apps.weave.works/v1beta1/namespaces/${ns}/rollouts?${byName(name)}`,
    )) as List<RolloutItem>;
    const revision = rollouts.metadata?.resourceVersion;
    if (!revision) throw new Error('the Rollout list has no resourceVersion');
    const rollout = rollouts.items?.[0];
    const status = rollout?.status ?? {};
    const vsName = rollout?.spec?.virtualService?.name;
    if (!vsName) return { revision, status, routes: undefined };
    let services: List<VirtualServiceItem>;
    try {
      services = (await get(
        `/apis/networking.istio.io/v1alpha3/namespaces/${ns}/virtualservices?${byName(vsName)}` +
          `&resourceVersion=${encodeURIComponent(revision)}&resourceVersionMatch=Exact`,
      )) as List<VirtualServiceItem>;
    } catch (e) {
      lastError = e;
      continue;
    }
    const routes = routeWeights(
      services.items?.[0],
      rollout.spec?.primary?.host,
      rollout.spec?.canary?.host,
    );
    return { revision, status, routes };
  }
  throw new Error(`no consistent read of the Rollout and its VirtualService: ${String(lastError)}`);
}

/**
 * One line on the snapshot: what Steerer decided (phase, weight) and what the route says,
 * and, when they differ, where the route is going.
 */
export function statusLine(s: Snapshot): string {
  const { status, routes } = s;
  const rate =
    status.analysis?.successRate === undefined ? '—' : `${status.analysis.successRate.toFixed(2)}%`;
  const want = decidedRoutes(status);
  let route = '—';
  if (routes) {
    route = `${routes.primary}/${routes.canary}`;
    if (routes.primary !== want.primary || routes.canary !== want.canary)
      route += ` (moving to ${want.primary}/${want.canary})`;
  }
  return `phase ${status.phase ?? '—'}  weight ${status.canaryWeight ?? 0}  routes ${route}  success rate ${rate}  failed checks ${status.failedChecks ?? 0}`;
}
