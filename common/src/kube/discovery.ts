// Which version of a custom resource the API server serves (Istio has served the same
// VirtualService schema as v1alpha3, v1beta1 and v1), and one retry loop for waiting until
// it serves one — the controller waits for it at start, the webhook in the background.

import { errorMessage, isApiError } from '../model/errors.js';
import { Backoff } from '../backoff.js';
import type { Logger } from '../logger.js';
import type { KubeClient } from './client.js';
import { abortableSleep } from './informer.js';

export interface ServedResource {
  group: string;
  /** In order of preference. */
  versions: readonly string[];
  /** For messages, e.g. VirtualService. */
  kind: string;
}

type Discovery = { ok: true; version: string } | { ok: false; message: string };

/** One look at /apis/GROUP; never throws except when `signal` aborts. */
async function discoverVersion(
  client: KubeClient,
  r: ServedResource,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Discovery> {
  try {
    const group = await client.get<{ versions?: { version: string }[] }>(`/apis/${r.group}`, opts);
    const served = new Set((group.versions ?? []).map((v) => v.version));
    const version = r.versions.find((v) => served.has(v));
    if (version) return { ok: true, version };
    return {
      ok: false,
      message: `the API server serves no ${r.kind} version Steerer knows (${r.versions.join(', ')})`,
    };
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    if (isApiError(e, 404)) {
      return {
        ok: false,
        message: `the API server serves no ${r.group} API group; are the ${r.kind} CRDs installed?`,
      };
    }
    return { ok: false, message: `cannot read the ${r.group} API group: ${errorMessage(e)}` };
  }
}

export interface WaitForVersionOptions {
  signal: AbortSignal;
  logger: Logger;
  timeoutMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Looks until the API server serves a version (capped backoff); undefined once `signal` aborts. */
export async function waitForVersion(
  client: KubeClient,
  r: ServedResource,
  o: WaitForVersionOptions,
): Promise<string | undefined> {
  const sleep = o.sleep ?? abortableSleep;
  const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  while (!o.signal.aborted) {
    const found = await discoverVersion(client, r, {
      signal: o.signal,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    }).catch(() => undefined);
    if (o.signal.aborted) return undefined;
    if (found?.ok) {
      o.logger.info(`${r.kind} version discovered`, { version: found.version });
      return found.version;
    }
    const retryInMs = backoff.next();
    if (found) o.logger.warn(found.message, { retryInMs });
    await sleep(retryInMs, o.signal);
  }
  return undefined;
}
