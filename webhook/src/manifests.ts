// The Mutating and Validating WebhookConfigurations that register the webhook with the API
// server. Local runs and the e2e register it by URL on 127.0.0.1; the Helm chart templates
// the same objects with a Service clientConfig (see webhook/README.md).

import { LABELS } from '@steerer/common';
import type { LabelSelector } from '@steerer/common';
import { DEPLOYMENTS_ENDPOINT, ENDPOINTS, ROLLOUTS_ENDPOINT } from './endpoints.js';
import type { Endpoint } from './endpoints.js';

/**
 * Each webhook's name, by what it admits: deployments, rollouts, and per router kind its
 * resource (validating) and `<resource>-weights` (mutating).
 */
export const WEBHOOK_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  ENDPOINTS.map((e) => [
    e.endpoint.webhookName.replace(/\.webhook\.steerer\.io$/, ''),
    e.endpoint.webhookName,
  ]),
);

export type WebhookTarget =
  { url: string } | { service: { namespace: string; name: string; port?: number } };

export interface WebhookConfigurationOptions {
  /** metadata.name of both configurations (--webhook-config-name). */
  name: string;
  /** A base URL (https://127.0.0.1:8443) or the webhook's Service. */
  target: WebhookTarget;
  /** PEM bundle; omitted when the webhook injects it (managed mode). */
  caBundlePEM?: string;
  /** Restricts every webhook to matching namespaces (e.g. one test namespace). */
  namespaceSelector?: LabelSelector;
  /** Router kinds to admit route objects of (the chart's routers.*.enabled); all by default. */
  routers?: readonly string[];
  labels?: Record<string, string>;
}

type Json = Record<string, unknown>;

function clientConfig(o: WebhookConfigurationOptions, endpoint: Endpoint): Json {
  const ca = o.caBundlePEM
    ? { caBundle: Buffer.from(o.caBundlePEM, 'utf8').toString('base64') }
    : {};
  if ('url' in o.target)
    return { url: `${o.target.url.replace(/\/+$/, '')}${endpoint.path}`, ...ca };
  const { namespace, name, port } = o.target.service;
  return { service: { namespace, name, path: endpoint.path, port: port ?? 443 }, ...ca };
}

function webhook(
  o: WebhookConfigurationOptions,
  endpoint: Endpoint,
  operations: string[],
  failurePolicy: 'Ignore' | 'Fail',
  timeoutSeconds: number,
): Json {
  return {
    name: endpoint.webhookName,
    clientConfig: clientConfig(o, endpoint),
    rules: [
      {
        apiGroups: [endpoint.group],
        apiVersions: [...endpoint.versions],
        operations,
        resources: [endpoint.resource],
        scope: 'Namespaced',
      },
    ],
    failurePolicy,
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds,
    ...(o.namespaceSelector ? { namespaceSelector: o.namespaceSelector } : {}),
  };
}

/** The route endpoints of one handler, for the routers `o` admits. */
function routeEndpoints(
  o: WebhookConfigurationOptions,
  handles: 'routes' | 'route-weights',
): Endpoint[] {
  return ENDPOINTS.flatMap((e) =>
    e.handles === handles && (o.routers?.includes(e.router.kind) ?? true) ? [e.endpoint] : [],
  );
}

export function webhookConfigurations(o: WebhookConfigurationOptions): {
  mutating: Json;
  validating: Json;
} {
  const metadata = { name: o.name, ...(o.labels ? { labels: o.labels } : {}) };
  return {
    mutating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata,
      webhooks: [
        {
          // Never block a user's deploy: a slow or absent webhook is skipped, and the
          // controller notices the new revision at its next look.
          ...webhook(o, DEPLOYMENTS_ENDPOINT, ['UPDATE'], 'Ignore', 2),
          objectSelector: { matchLabels: { [LABELS.role]: 'canary' } },
          reinvocationPolicy: 'Never',
        },
        // Keeps Steerer's weights when a GitOps tool re-applies a route object mid-release.
        // Ignore: a route write never waits for Steerer; the controller restores the
        // weights itself (with a warning) if this one is down.
        ...routeEndpoints(o, 'route-weights').map((e) => ({
          ...webhook(o, e, ['UPDATE'], 'Ignore', 2),
          reinvocationPolicy: 'Never',
        })),
      ],
    },
    validating: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata,
      webhooks: [
        // Ignore: a webhook that is down (or not up yet after an install) must never
        // block a Rollout apply, a GitOps sync included. The CRD's schema and CEL rules
        // refuse field errors on their own; only the checks that read other objects
        // (another Rollout's claims, the route object) are lost while it is down.
        webhook(o, ROLLOUTS_ENDPOINT, ['CREATE', 'UPDATE'], 'Ignore', 10),
        ...routeEndpoints(o, 'routes').map((e) => webhook(o, e, ['UPDATE'], 'Ignore', 2)),
      ],
    },
  };
}
