// Every router Steerer knows, by kind. A new router is one file beside istio.ts and one
// entry here; the controller's caches, the webhook's endpoints and the validation of a
// Rollout's spec all iterate this list.

import { istioVirtualService } from './istio.js';
import type { Router } from './router.js';

export const ROUTERS: readonly Router[] = [istioVirtualService];

export function routerFor(kind: string): Router | undefined {
  return ROUTERS.find((r) => r.kind === kind);
}

export * from './router.js';
export {
  ISTIO_GROUP,
  VIRTUAL_SERVICE_VERSIONS,
  checkRoutes,
  istioVirtualService,
  virtualServiceView,
  weightPatch,
} from './istio.js';
export type {
  HttpRoute,
  HttpRouteDestination,
  RouteCheck,
  SplitRoute,
  VirtualService,
} from './istio.js';
