// When a Service can carry a rollout's traffic: ClusterIP, with a port named http or https
// (the port names Istio's protocol selection reads).

import type { Service } from './objects.js';

export type ServiceProblem = { kind: 'type' | 'ports'; message: string };

/** Why the Service (named `where` in the message) cannot be used, if it cannot. */
export function serviceProblem(svc: Service, where: string): ServiceProblem | undefined {
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type !== 'ClusterIP') {
    return { kind: 'type', message: `Service ${where} is of type ${type}, not ClusterIP` };
  }
  if (!(svc.spec?.ports ?? []).some((p) => p.name === 'http' || p.name === 'https')) {
    return { kind: 'ports', message: `Service ${where} has no port named http or https` };
  }
  return undefined;
}
