// Publishes the CA bundle to the API server: sets webhooks[*].clientConfig.caBundle on the named
// Mutating/ValidatingWebhookConfigurations. The patch is planned by a pure function and written
// as a JSON Patch that tests each webhook's name at its index before setting its caBundle, so a
// concurrent reorder of the list fails the patch instead of writing to the wrong webhook.

import { isApiError, type JsonPatchOp } from '@steerer/common/model';

export const WebhookConfigKind = {
  Mutating: 'MutatingWebhookConfiguration',
  Validating: 'ValidatingWebhookConfiguration',
} as const;
export type WebhookConfigKind = (typeof WebhookConfigKind)[keyof typeof WebhookConfigKind];

/** The subset of an admissionregistration.k8s.io/v1 webhook configuration we read. */
export interface WebhookConfiguration {
  metadata?: { name?: string; resourceVersion?: string };
  webhooks?: Array<{ name: string; clientConfig?: { caBundle?: string } }>;
}

/**
 * Implementations throw SteererError (code Api with the HTTP status); the API server rejects a
 * patch whose `test` operation fails with 422 (Invalid).
 */
export interface WebhookConfigClient {
  /** undefined when the configuration does not exist. */
  get(kind: WebhookConfigKind, name: string): Promise<WebhookConfiguration | undefined>;
  /** Applies an RFC 6902 JSON Patch. */
  patch(kind: WebhookConfigKind, name: string, ops: JsonPatchOp[]): Promise<WebhookConfiguration>;
}

export interface InjectCABundleOptions {
  mutating?: readonly string[];
  validating?: readonly string[];
  caBundlePEM: string;
  /** Attempts per configuration when a concurrent change fails our patch. Default 3. */
  maxAttempts?: number;
}

export const InjectOutcome = {
  Updated: 'Updated',
  Unchanged: 'Unchanged',
  NotFound: 'NotFound',
} as const;
export type InjectOutcome = (typeof InjectOutcome)[keyof typeof InjectOutcome];

export interface InjectResult {
  kind: WebhookConfigKind;
  name: string;
  outcome: InjectOutcome;
  /** Number of webhooks whose caBundle we set. */
  patched: number;
}

export interface InjectSummary {
  results: InjectResult[];
  /** Some configuration does not exist (yet): log and retry later. */
  missing: InjectResult[];
  updated: boolean;
}

/** JSON Patch setting caBundle on every webhook whose value differs; [] when all match. */
export function planCABundlePatch(
  config: WebhookConfiguration,
  caBundleBase64: string,
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  (config.webhooks ?? []).forEach((webhook, index) => {
    if (webhook.clientConfig?.caBundle === caBundleBase64) return;
    ops.push({ op: 'test', path: `/webhooks/${index}/name`, value: webhook.name });
    // `add` sets a member whether or not it exists; `replace` would fail on a first injection.
    ops.push(
      webhook.clientConfig === undefined
        ? {
            op: 'add',
            path: `/webhooks/${index}/clientConfig`,
            value: { caBundle: caBundleBase64 },
          }
        : { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundleBase64 },
    );
  });
  return ops;
}

/**
 * Sets the CA bundle on every webhook of the named configurations, writing only where it
 * differs. A missing configuration is reported in the result, not thrown; API failures throw.
 */
export async function injectCABundle(
  client: WebhookConfigClient,
  options: InjectCABundleOptions,
): Promise<InjectSummary> {
  const caBundleBase64 = Buffer.from(options.caBundlePEM, 'utf8').toString('base64');
  const targets: Array<[WebhookConfigKind, string]> = [
    ...(options.mutating ?? []).map((name): [WebhookConfigKind, string] => [
      WebhookConfigKind.Mutating,
      name,
    ]),
    ...(options.validating ?? []).map((name): [WebhookConfigKind, string] => [
      WebhookConfigKind.Validating,
      name,
    ]),
  ];
  const results: InjectResult[] = [];
  for (const [kind, name] of targets) {
    results.push(await injectOne(client, kind, name, caBundleBase64, options.maxAttempts ?? 3));
  }
  const missing = results.filter((r) => r.outcome === InjectOutcome.NotFound);
  return { results, missing, updated: results.some((r) => r.outcome === InjectOutcome.Updated) };
}

async function injectOne(
  client: WebhookConfigClient,
  kind: WebhookConfigKind,
  name: string,
  caBundleBase64: string,
  maxAttempts: number,
): Promise<InjectResult> {
  for (let attempt = 1; ; attempt++) {
    const config = await client.get(kind, name);
    if (config === undefined) return { kind, name, outcome: InjectOutcome.NotFound, patched: 0 };
    const ops = planCABundlePatch(config, caBundleBase64);
    if (ops.length === 0) return { kind, name, outcome: InjectOutcome.Unchanged, patched: 0 };
    try {
      await client.patch(kind, name, ops);
      return { kind, name, outcome: InjectOutcome.Updated, patched: ops.length / 2 };
    } catch (error) {
      if (isApiError(error, 404)) {
        return { kind, name, outcome: InjectOutcome.NotFound, patched: 0 };
      }
      // 422: our `test` failed (the list changed under us); 409: a conflicting write.
      if (!isApiError(error, 409, 422) || attempt >= maxAttempts) throw error;
    }
  }
}
