// Every router Steerer knows, by kind. A new router is one file beside istio.ts and one
// entry here; the controller's caches, the webhook's endpoints and the validation of a
// Rollout's spec all iterate this list. The order is the order of the Rollout's spec
// fields in messages ("one of spec.virtualService, spec.httpRoute is required").

import { ErrorCode, SteererError } from '../errors.js';
import { gatewayHTTPRoute } from './gateway-api.js';
import { istioVirtualService } from './istio.js';
import type { Router } from './router.js';

export const ROUTERS: readonly Router[] = [istioVirtualService, gatewayHTTPRoute];

export function routerFor(kind: string): Router | undefined {
  return ROUTERS.find((r) => r.kind === kind);
}

/**
 * The routers a comma-separated list of kinds names (a process's --routers flag), in
 * ROUTERS order; all of them for an empty list. Throws on a kind Steerer does not know.
 */
export function routersNamed(list: string | undefined): readonly Router[] {
  const kinds = (list ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (kinds.length === 0) return ROUTERS;
  const unknown = kinds.filter((k) => !routerFor(k));
  if (unknown.length > 0) {
    throw new SteererError(
      ErrorCode.Invalid,
      `unknown router ${unknown.join(', ')}; known: ${ROUTERS.map((r) => r.kind).join(', ')}`,
    );
  }
  return ROUTERS.filter((r) => kinds.includes(r.kind));
}

export * from './router.js';
export {
  DESTINATION_RULE_VERSIONS,
  destinationRuleSubsets,
  destinationRuleView,
  findSubset,
  rulesForService,
  serviceOfRule,
  subsetProblems,
} from './destination-rule.js';
export type { DestinationRuleView, Qualify, Subset } from './destination-rule.js';
export {
  ISTIO_GROUP,
  VIRTUAL_SERVICE_VERSIONS,
  checkRoutes,
  istioVirtualService,
  virtualServiceView,
  weightPatch,
} from './istio.js';
export {
  DEFAULT_BACKEND_WEIGHT,
  GATEWAY_API_GROUP,
  HTTP_ROUTE_VERSIONS,
  MAX_BACKEND_WEIGHT,
  REFERENCE_GRANT_VERSIONS,
  backendWeightPatch,
  checkRules,
  crossNamespaceRefs,
  gatewayHTTPRoute,
  grantPermits,
  httpRouteView,
  referenceGrants,
  sharesOf,
} from './gateway-api.js';
export type {
  HTTPBackendRef,
  HTTPRouteObject,
  HTTPRouteRule,
  RuleCheck,
  SplitRule,
} from './gateway-api.js';
export type {
  HttpRoute,
  HttpRouteDestination,
  RouteCheck,
  SideSubsets,
  SplitRoute,
  VirtualService,
} from './istio.js';
