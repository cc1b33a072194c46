// Which version of a custom resource the API server serves (Istio has served the same
// VirtualService schema as v1alpha3, v1beta1 and v1), and one retry loop for waiting until
// it serves one. Both processes look in the background, so a CRD installed after they
// started is picked up without a restart.

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
  /** The plural; when given, a version counts as served only if it lists this resource. */
  resource?: string;
  /** What to do when it is not served, e.g. "install the Gateway API CRDs". */
  install?: string;
}

export type Discovery = { ok: true; version: string } | { ok: false; message: string };

interface LookOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

function notServed(r: ServedResource): Discovery {
  const hint = r.install ? `; ${r.install}` : '';
  return { ok: false, message: `the API server serves no ${r.group} ${r.kind}${hint}` };
}

/** Whether /apis/GROUP/VERSION lists the resource (a 404: the version went away meanwhile). */
async function listsResource(
  client: KubeClient,
  r: ServedResource & { resource: string },
  version: string,
  opts: LookOptions,
): Promise<boolean> {
  try {
    const list = await client.get<{ resources?: { name?: string }[] }>(
      `/apis/${r.group}/${version}`,
      opts,
    );
    return (list.resources ?? []).some((x) => x.name === r.resource);
  } catch (e) {
    if (isApiError(e, 404)) return false;
    throw e;
  }
}

/** The preferred served version that lists the resource, or why there is none. */
async function pickVersion(
  client: KubeClient,
  r: ServedResource,
  served: Set<string>,
  opts: LookOptions,
): Promise<Discovery> {
  const candidates = r.versions.filter((v) => served.has(v));
  if (candidates.length === 0) {
    if (served.size === 0) return notServed(r);
    return {
      ok: false,
      message: `the API server serves no ${r.kind} version Steerer knows (${r.versions.join(', ')})`,
    };
  }
  if (r.resource === undefined) return { ok: true, version: candidates[0] ?? '' };
  for (const version of candidates) {
    if (await listsResource(client, { ...r, resource: r.resource }, version, opts)) {
      return { ok: true, version };
    }
  }
  return notServed(r);
}

/** One look at /apis/GROUP (and its versions); never throws except when `signal` aborts. */
export async function discoverVersion(
  client: KubeClient,
  r: ServedResource,
  opts: LookOptions = {},
): Promise<Discovery> {
  try {
    const group = await client.get<{ versions?: { version: string }[] }>(`/apis/${r.group}`, opts);
    const served = new Set((group.versions ?? []).map((v) => v.version));
    return await pickVersion(client, r, served, opts);
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    if (isApiError(e, 404)) return notServed(r);
    return { ok: false, message: `cannot read the ${r.group} API group: ${errorMessage(e)}` };
  }
}

export interface WaitForVersionOptions {
  signal: AbortSignal;
  logger: Logger;
  timeoutMs?: number;
  /** Each look that finds no version, with why (for a status that says what is missing). */
  onMiss?: (message: string) => void;
  /** Injected for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Injected for tests: the backoff's bounds (default 1 s doubling to 30 s). */
  backoff?: { initialMs: number; maxMs: number };
}

/** Looks until the API server serves a version (capped backoff); undefined once `signal` aborts. */
export async function waitForVersion(
  client: KubeClient,
  r: ServedResource,
  o: WaitForVersionOptions,
): Promise<string | undefined> {
  const sleep = o.sleep ?? abortableSleep;
  const backoff = new Backoff(o.backoff ?? { initialMs: 1000, maxMs: 30_000 });
  let warned = '';
  while (!o.signal.aborted) {
    const found = await discoverVersion(client, r, {
      signal: o.signal,
      timeoutMs: o.timeoutMs,
    }).catch(() => undefined);
    if (o.signal.aborted) return undefined;
    if (found?.ok) {
      o.logger.info(`${r.kind} version discovered`, { version: found.version });
      return found.version;
    }
    const retryInMs = backoff.next();
    if (found) {
      o.onMiss?.(found.message);
      // The same answer again is not news: log it at debug after the first time.
      if (found.message !== warned) o.logger.warn(found.message, { retryInMs });
      else o.logger.debug(found.message, { retryInMs });
      warned = found.message;
    }
    await sleep(retryInMs, o.signal);
  }
  return undefined;
}
