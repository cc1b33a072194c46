import { describe, expect, it } from '@jest/globals';
import { renderManifests } from './manifests-cli.js';
import { WEBHOOK_NAMES, webhookConfigurations } from './manifests.js';

interface Webhook {
  name: string;
  clientConfig: { url?: string; caBundle?: string; service?: Record<string, unknown> };
  rules: {
    apiGroups: string[];
    apiVersions: string[];
    operations: string[];
    resources: string[];
  }[];
  failurePolicy: string;
  timeoutSeconds: number;
  sideEffects: string;
  admissionReviewVersions: string[];
  matchPolicy: string;
  objectSelector?: unknown;
  namespaceSelector?: unknown;
}

const hooks = (o: Record<string, unknown>): Webhook[] => o.webhooks as Webhook[];

describe('webhookConfigurations', () => {
  const { mutating, validating } = webhookConfigurations({
    name: 'steerer-webhook',
    target: { url: 'https://127.0.0.1:8443/' },
    caBundlePEM: 'PEM',
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'e2e' } },
  });

  it('registers canary Deployment updates: Ignore, 2s, objectSelector on the canary role', () => {
    expect(mutating).toMatchObject({
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'steerer-webhook' },
    });
    const [d] = hooks(mutating);
    expect(d).toMatchObject({
      name: WEBHOOK_NAMES.deployments,
      clientConfig: {
        url: 'https://127.0.0.1:8443/mutate/deployments',
        caBundle: Buffer.from('PEM').toString('base64'),
      },
      rules: [
        {
          apiGroups: ['apps'],
          apiVersions: ['v1'],
          operations: ['UPDATE'],
          resources: ['deployments'],
        },
      ],
      failurePolicy: 'Ignore',
      timeoutSeconds: 2,
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      matchPolicy: 'Equivalent',
      objectSelector: { matchLabels: { 'steerer.io/role': 'canary' } },
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'e2e' } },
    });
  });

  it('validates Rollouts and VirtualService updates in all three versions, never blocking (Ignore)', () => {
    const [r, v] = hooks(validating);
    expect(r).toMatchObject({
      name: WEBHOOK_NAMES.rollouts,
      clientConfig: { url: 'https://127.0.0.1:8443/validate/rollouts' },
      rules: [
        {
          apiGroups: ['apps.weave.works'],
          apiVersions: ['v1beta1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['rollouts'],
        },
      ],
      // The CRD refuses field errors by itself; a webhook that is down blocks nobody.
      failurePolicy: 'Ignore',
    });
    expect(v).toMatchObject({
      name: WEBHOOK_NAMES.virtualservices,
      rules: [
        {
          apiGroups: ['networking.istio.io'],
          apiVersions: ['v1', 'v1beta1', 'v1alpha3'],
          operations: ['UPDATE'],
          resources: ['virtualservices'],
        },
      ],
      failurePolicy: 'Ignore',
    });
  });

  it('validates HTTPRoute updates in v1 and v1beta1', () => {
    const h = hooks(validating).find((w) => w.name === WEBHOOK_NAMES.httproutes);
    expect(h).toMatchObject({
      clientConfig: { url: 'https://127.0.0.1:8443/validate/httproutes' },
      rules: [
        {
          apiGroups: ['gateway.networking.k8s.io'],
          apiVersions: ['v1', 'v1beta1'],
          operations: ['UPDATE'],
          resources: ['httproutes'],
        },
      ],
    });
  });

  it("keeps Steerer's weights on route updates of each router kind (mutating, UPDATE only, 2s)", () => {
    const [, vs, hr] = hooks(mutating);
    expect(vs).toMatchObject({
      name: 'virtualservices-weights.webhook.steerer.io',
      clientConfig: { url: 'https://127.0.0.1:8443/mutate/virtualservices' },
      rules: [
        {
          apiGroups: ['networking.istio.io'],
          apiVersions: ['v1', 'v1beta1', 'v1alpha3'],
          operations: ['UPDATE'],
          resources: ['virtualservices'],
        },
      ],
      timeoutSeconds: 2,
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'e2e' } },
    });
    expect(vs?.objectSelector).toBeUndefined();
    expect(hr).toMatchObject({
      name: WEBHOOK_NAMES['httproutes-weights'],
      clientConfig: { url: 'https://127.0.0.1:8443/mutate/httproutes' },
      rules: [{ apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'] }],
    });
  });

  it('never blocks an API write when the webhook is down: every failurePolicy is Ignore', () => {
    expect(
      [...hooks(mutating), ...hooks(validating)].map((w) => [w.name, w.failurePolicy]),
    ).toEqual([
      [WEBHOOK_NAMES.deployments, 'Ignore'],
      [WEBHOOK_NAMES['virtualservices-weights'], 'Ignore'],
      [WEBHOOK_NAMES['httproutes-weights'], 'Ignore'],
      [WEBHOOK_NAMES.rollouts, 'Ignore'],
      [WEBHOOK_NAMES.virtualservices, 'Ignore'],
      [WEBHOOK_NAMES.httproutes, 'Ignore'],
    ]);
  });

  it('admits the route objects of the routers it is given only', () => {
    const only = webhookConfigurations({
      name: 'x',
      target: { url: 'https://127.0.0.1:8443' },
      routers: ['VirtualService'],
    });
    expect([...hooks(only.mutating), ...hooks(only.validating)].map((w) => w.name)).toEqual([
      'deployments.webhook.steerer.io',
      'virtualservices-weights.webhook.steerer.io',
      'rollouts.webhook.steerer.io',
      'virtualservices.webhook.steerer.io',
    ]);
  });

  it('uses a Service clientConfig in-cluster and omits an unknown caBundle', () => {
    const { validating: v } = webhookConfigurations({
      name: 'x',
      target: { service: { namespace: 'istio-system', name: 'steerer-webhook' } },
    });
    expect(hooks(v)[0]?.clientConfig).toEqual({
      service: {
        namespace: 'istio-system',
        name: 'steerer-webhook',
        path: '/validate/rollouts',
        port: 443,
      },
    });
    expect(hooks(v)[0]?.namespaceSelector).toBeUndefined();
  });
});

describe('manifests CLI', () => {
  it('prints a List for kubectl apply', () => {
    const list = JSON.parse(
      renderManifests(['--name=e2e', '--url=https://127.0.0.1:9443', '--namespace=webhook-e2e']),
    ) as { kind: string; items: Record<string, unknown>[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((i) => i.kind)).toEqual([
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ]);
    expect(hooks(list.items[0] ?? {})[0]?.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': 'webhook-e2e' },
    });
  });

  it('parses --service', () => {
    const list = JSON.parse(renderManifests(['--service=steerer/steerer-webhook:8443'])) as {
      items: Record<string, unknown>[];
    };
    expect(hooks(list.items[1] ?? {})[0]?.clientConfig.service).toMatchObject({
      namespace: 'steerer',
      name: 'steerer-webhook',
      port: 8443,
    });
  });

  it('parses --routers, refusing a kind it does not know', () => {
    const list = JSON.parse(
      renderManifests(['--url=https://127.0.0.1:1', '--routers=HTTPRoute']),
    ) as { items: Record<string, unknown>[] };
    expect(hooks(list.items[1] ?? {}).map((w) => w.name)).toEqual([
      'rollouts.webhook.steerer.io',
      'httproutes.webhook.steerer.io',
    ]);
    expect(() => renderManifests(['--url=https://a', '--routers=TCPRoute'])).toThrow(
      'unknown router TCPRoute; known: VirtualService, HTTPRoute',
    );
  });

  it('needs exactly one target', () => {
    expect(() => renderManifests([])).toThrow(/exactly one of --url and --service/);
    expect(() => renderManifests(['--url=https://a', '--service=a/b'])).toThrow(/exactly one/);
    expect(() => renderManifests(['--service=nope'])).toThrow(/NAMESPACE\/NAME/);
  });
});
