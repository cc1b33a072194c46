// The webhook's admission endpoints: the path the API server calls and the kind each admits.
// Shared by the express app and the webhook configuration manifests so the two cannot drift.

import { ISTIO_GROUP, ROLLOUT, VIRTUAL_SERVICE_VERSIONS } from '@steerer/common';
import type { GroupVersionKind } from './admission.js';

export interface Endpoint {
  path: string;
  group: string;
  versions: readonly string[];
  kind: string;
  resource: string;
}

export const ENDPOINTS = {
  deployments: {
    path: '/mutate/deployments',
    group: 'apps',
    versions: ['v1'],
    kind: 'Deployment',
    resource: 'deployments',
  },
  rollouts: {
    path: '/validate/rollouts',
    group: ROLLOUT.group,
    versions: [ROLLOUT.version],
    kind: ROLLOUT.kind,
    resource: ROLLOUT.plural,
  },
  virtualservices: {
    path: '/validate/virtualservices',
    group: ISTIO_GROUP,
    versions: VIRTUAL_SERVICE_VERSIONS,
    kind: 'VirtualService',
    resource: 'virtualservices',
  },
} as const satisfies Record<string, Endpoint>;

export type EndpointName = keyof typeof ENDPOINTS;

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
