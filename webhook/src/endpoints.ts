// The webhook's admission endpoints: the path the API server calls and the kind each admits,
// two per router kind for route objects (validating edits, keeping Steerer's weights). Shared by the express app and the webhook
// configuration manifests so the two cannot drift.

import { ROLLOUT, ROUTERS } from '@steerer/common';
import type { Router } from '@steerer/common';
import type { GroupVersionKind } from './admission.js';

export interface Endpoint {
  path: string;
  group: string;
  versions: readonly string[];
  kind: string;
  resource: string;
  /** The webhook configuration's name for it, e.g. rollouts.webhook.steerer.io. */
  webhookName: string;
}

export type EndpointOf =
  | { handles: 'deployments'; endpoint: Endpoint }
  | { handles: 'rollouts'; endpoint: Endpoint }
  | { handles: 'routes'; endpoint: Endpoint; router: Router }
  | { handles: 'route-weights'; endpoint: Endpoint; router: Router };

const webhookName = (id: string): string => `${id}.webhook.steerer.io`;

export const DEPLOYMENTS_ENDPOINT: Endpoint = {
  path: '/mutate/deployments',
  group: 'apps',
  versions: ['v1'],
  kind: 'Deployment',
  resource: 'deployments',
  webhookName: webhookName('deployments'),
};

export const ROLLOUTS_ENDPOINT: Endpoint = {
  path: '/validate/rollouts',
  group: ROLLOUT.group,
  versions: [ROLLOUT.version],
  kind: ROLLOUT.kind,
  resource: ROLLOUT.plural,
  webhookName: webhookName(ROLLOUT.plural),
};

/** The validating endpoint of a router's route objects. */
export function routeEndpoint(router: Router): Endpoint {
  return {
    path: `/validate/${router.resource}`,
    group: router.group,
    versions: router.versions,
    kind: router.kind,
    resource: router.resource,
    webhookName: webhookName(router.resource),
  };
}

/** The mutating endpoint of a router's route objects: keeps Steerer's weights mid-release. */
export function routeWeightsEndpoint(router: Router): Endpoint {
  return {
    ...routeEndpoint(router),
    path: `/mutate/${router.resource}`,
    webhookName: webhookName(`${router.resource}-weights`),
  };
}

/** Every endpoint, with what handles it. */
export const ENDPOINTS: readonly EndpointOf[] = [
  { handles: 'deployments', endpoint: DEPLOYMENTS_ENDPOINT },
  { handles: 'rollouts', endpoint: ROLLOUTS_ENDPOINT },
  ...ROUTERS.map((router) => ({
    handles: 'routes' as const,
    endpoint: routeEndpoint(router),
    router,
  })),
  ...ROUTERS.map((router) => ({
    handles: 'route-weights' as const,
    endpoint: routeWeightsEndpoint(router),
    router,
  })),
];

export function admits(endpoint: Endpoint, kind: GroupVersionKind): boolean {
  return (
    kind.group === endpoint.group &&
    kind.kind === endpoint.kind &&
    endpoint.versions.includes(kind.version)
  );
}

export function describeKind(
  k: { group: string; kind: string },
  versions: readonly string[],
): string {
  return `${k.group ? `${k.group}/` : ''}${versions.join('|')} ${k.kind}`;
}
