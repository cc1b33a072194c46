// Which VirtualService version the API server serves. Istio has served the same schema
// as v1alpha3, v1beta1 and v1; Steerer uses the newest one available.

import { ISTIO_GROUP, VIRTUAL_SERVICE_VERSIONS } from '../names.js';
import type { VirtualServiceVersion } from '../names.js';
import { errorMessage, isApiError } from '../errors.js';
import type { KubeClient } from './client.js';

export type VirtualServiceDiscovery =
  { ok: true; version: VirtualServiceVersion } | { ok: false; message: string };

/** One look at /apis/networking.istio.io; never throws except when `signal` aborts. */
export async function discoverVirtualServiceVersion(
  client: KubeClient,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<VirtualServiceDiscovery> {
  try {
    const group = await client.get<{ versions?: { version: string }[] }>(
      `/apis/${ISTIO_GROUP}`,
      opts,
    );
    const served = new Set((group.versions ?? []).map((v) => v.version));
    const version = VIRTUAL_SERVICE_VERSIONS.find((v) => served.has(v));
    if (version) return { ok: true, version };
    return {
      ok: false,
      message: `the API server serves no VirtualService version Steerer knows (${VIRTUAL_SERVICE_VERSIONS.join(', ')})`,
    };
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    if (isApiError(e, 404)) {
      return {
        ok: false,
        message: `the API server serves no ${ISTIO_GROUP} API group; are the Istio CRDs installed?`,
      };
    }
    return { ok: false, message: `cannot read the ${ISTIO_GROUP} API group: ${errorMessage(e)}` };
  }
}
