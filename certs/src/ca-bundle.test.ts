import { describe, expect, it } from '@jest/globals';
import { isApiError } from '@steerer/common/model';
import { injectCABundle, planCABundlePatch } from './ca-bundle.js';
import { InMemoryWebhookConfigClient, apiError } from './testing.js';

// The injection logic never parses the bundle, so any text stands in for PEM here.
const PEM = '-----BEGIN CERTIFICATE-----\nQ0EgQQ==\n-----END CERTIFICATE-----\n';
const B64 = Buffer.from(PEM).toString('base64');
const M = 'MutatingWebhookConfiguration';
const V = 'ValidatingWebhookConfiguration';

describe('planCABundlePatch', () => {
  it('tests each webhook name at its index, then sets caBundle, only where it differs', () => {
    const ops = planCABundlePatch(
      {
        webhooks: [
          { name: 'a.steerer.io', clientConfig: { caBundle: B64 } },
          { name: 'b.steerer.io', clientConfig: { caBundle: 'b2xk' } },
          { name: 'c.steerer.io', clientConfig: {} },
        ],
      },
      B64,
    );
    expect(ops).toEqual([
      { op: 'test', path: '/webhooks/1/name', value: 'b.steerer.io' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: B64 },
      { op: 'test', path: '/webhooks/2/name', value: 'c.steerer.io' },
      { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: B64 },
    ]);
  });

  it('plans nothing for a configuration without webhooks', () => {
    expect(planCABundlePatch({}, B64)).toEqual([]);
  });
});

describe('injectCABundle', () => {
  it('sets caBundle on every webhook of every named configuration', async () => {
    const client = new InMemoryWebhookConfigClient();
    client.set(M, 'steerer', ['rollouts.steerer.io', 'pods.steerer.io']);
    client.set(V, 'steerer', ['validate.steerer.io'], 'c3RhbGU=');
    const summary = await injectCABundle(client, {
      mutating: ['steerer'],
      validating: ['steerer'],
      caBundlePEM: PEM,
    });
    expect(summary.updated).toBe(true);
    expect(summary.missing).toEqual([]);
    expect(summary.results.map((r) => [r.kind, r.outcome, r.patched])).toEqual([
      [M, 'Updated', 2],
      [V, 'Updated', 1],
    ]);
    expect(client.caBundles(M, 'steerer')).toEqual([B64, B64]);
    expect(client.caBundles(V, 'steerer')).toEqual([B64]);
    expect(Buffer.from(client.caBundles(V, 'steerer')[0] ?? '', 'base64').toString()).toBe(PEM);
  });

  it('writes only when different: a second pass patches nothing', async () => {
    const client = new InMemoryWebhookConfigClient();
    client.set(M, 'steerer', ['rollouts.steerer.io']);
    await injectCABundle(client, { mutating: ['steerer'], caBundlePEM: PEM });
    expect(client.patches).toHaveLength(1);
    const again = await injectCABundle(client, { mutating: ['steerer'], caBundlePEM: PEM });
    expect(again.updated).toBe(false);
    expect(again.results[0]?.outcome).toBe('Unchanged');
    expect(client.patches).toHaveLength(1);
  });

  it('reports a missing configuration instead of throwing, and still handles the others', async () => {
    const client = new InMemoryWebhookConfigClient();
    client.set(V, 'steerer', ['validate.steerer.io']);
    const summary = await injectCABundle(client, {
      mutating: ['absent'],
      validating: ['steerer'],
      caBundlePEM: PEM,
    });
    expect(summary.missing).toEqual([{ kind: M, name: 'absent', outcome: 'NotFound', patched: 0 }]);
    expect(client.caBundles(V, 'steerer')).toEqual([B64]);
  });

  it('re-reads and retries when a concurrent reorder makes the name test fail', async () => {
    const client = new InMemoryWebhookConfigClient();
    client.set(M, 'steerer', ['first', 'second']);
    let reordered = false;
    client.before = (op) => {
      if (op === 'patch' && !reordered) {
        reordered = true;
        client.set(M, 'steerer', ['second', 'first'], B64); // someone re-applied the chart, reordered
        const config = client.configs.get(`${M}/steerer`);
        if (config?.webhooks?.[1]) config.webhooks[1].clientConfig = {};
      }
    };
    const summary = await injectCABundle(client, { mutating: ['steerer'], caBundlePEM: PEM });
    expect(summary.results[0]).toMatchObject({ outcome: 'Updated', patched: 1 });
    expect(client.caBundles(M, 'steerer')).toEqual([B64, B64]);
    expect(client.patches).toHaveLength(1); // the first attempt was rejected, not applied
  });

  it('throws API errors (the caller backs off and retries)', async () => {
    const client = new InMemoryWebhookConfigClient();
    client.set(M, 'steerer', ['a']);
    client.before = () => {
      throw apiError(403, 'forbidden', 'Forbidden');
    };
    const error = await injectCABundle(client, { mutating: ['steerer'], caBundlePEM: PEM }).catch(
      (e: unknown) => e,
    );
    expect(isApiError(error, 403)).toBe(true);
  });
});
