// In-process watches for e2e suites that must observe many objects with exact timing:
// Steerer's own informer over the local cluster's kubeconfig.

import { KubeConfig } from '@kubernetes/client-node';
import {
  Informer,
  KubeClient,
  ROLLOUT,
  checkRoutes,
  resourcePath,
  silentLogger,
} from '@steerer/common';
import type { KubeObject, RolloutObject, VirtualService } from '@steerer/common';
import { clusterEnv } from './harness.js';

export function testClient(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterEnv().KUBECONFIG);
  return new KubeClient(kc, { userAgent: 'steerer-e2e' });
}

export interface Watched<T extends KubeObject> {
  informer: Informer<T>;
  stop: () => void;
}

export async function watch<T extends KubeObject>(
  client: KubeClient,
  path: string,
  onChange?: (obj: T, old: T | undefined, event: 'add' | 'update' | 'delete') => void,
): Promise<Watched<T>> {
  const stop = new AbortController();
  const informer = new Informer<T>(client, { path, logger: silentLogger });
  if (onChange) informer.on((ev, obj, old) => onChange(obj, old, ev));
  void informer.run(stop.signal);
  await informer.waitForSync(stop.signal);
  return { informer, stop: () => stop.abort() };
}

export function rolloutsPath(namespace: string): string {
  return resourcePath({
    group: ROLLOUT.group,
    version: ROLLOUT.version,
    plural: ROLLOUT.plural,
    namespace,
  });
}

export function virtualServicesPath(namespace: string): string {
  return resourcePath({
    group: 'networking.istio.io',
    version: 'v1',
    plural: 'virtualservices',
    namespace,
  });
}

/** Canary weight of the split route of a VirtualService, or undefined. */
export function canaryWeight(
  vs: VirtualService,
  primaryHost: string,
  canaryHost: string,
): number | undefined {
  const r = checkRoutes(vs, primaryHost, canaryHost);
  return r.ok ? r.weights.canary : undefined;
}

export type { RolloutObject, VirtualService };
