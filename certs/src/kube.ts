// Thin @kubernetes/client-node 1.x adapters for SecretClient and WebhookConfigClient. No logic
// beyond argument shapes and error mapping: ApiException (which carries `code`) becomes a
// CertsApiError whose message is the API Status message only — never request or response
// bodies, which for Secrets would contain keys.

import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import type {
  JsonPatchOperation,
  WebhookConfigClient,
  WebhookConfigKind,
  WebhookConfiguration,
} from './ca-bundle.js';
import { CertsApiError, isCertsApiError } from './errors.js';
import type { SecretClient } from './secret.js';

export function kubeSecretClient(kubeConfig: KubeConfig): SecretClient {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return {
    get: (namespace, name) =>
      orUndefinedIfNotFound(
        call(`read Secret ${namespace}/${name}`, () =>
          api.readNamespacedSecret({ name, namespace }),
        ),
      ),
    create: (namespace, secret) =>
      call(`create Secret ${namespace}/${secret.metadata?.name ?? ''}`, () =>
        api.createNamespacedSecret({ namespace, body: secret }),
      ),
    replace: (namespace, name, secret) =>
      call(`replace Secret ${namespace}/${name}`, () =>
        api.replaceNamespacedSecret({ name, namespace, body: secret }),
      ),
  };
}

export function kubeWebhookConfigClient(kubeConfig: KubeConfig): WebhookConfigClient {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  return {
    get: (kind: WebhookConfigKind, name: string): Promise<WebhookConfiguration | undefined> =>
      orUndefinedIfNotFound(
        call(`read ${kind} ${name}`, () =>
          kind === 'MutatingWebhookConfiguration'
            ? api.readMutatingWebhookConfiguration({ name })
            : api.readValidatingWebhookConfiguration({ name }),
        ),
      ),
    patch: (kind: WebhookConfigKind, name: string, ops: JsonPatchOperation[]) =>
      call(`patch ${kind} ${name}`, () =>
        kind === 'MutatingWebhookConfiguration'
          ? api.patchMutatingWebhookConfiguration({ name, body: ops }, jsonPatch)
          : api.patchValidatingWebhookConfiguration({ name, body: ops }, jsonPatch),
      ),
  };
}

async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw toCertsApiError(what, error);
  }
}

async function orUndefinedIfNotFound<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (isCertsApiError(error, 'NotFound')) return undefined;
    throw error;
  }
}

/** Maps a client-node failure to CertsApiError without copying bodies or headers. */
export function toCertsApiError(what: string, error: unknown): CertsApiError {
  if (error instanceof ApiException) {
    const status = typeof error.code === 'number' ? error.code : undefined;
    return new CertsApiError(`${what}: ${statusMessage(error.body) ?? `HTTP ${status ?? '?'}`}`, {
      ...(status === undefined ? {} : { status }),
    });
  }
  // Transport failures (DNS, TLS, resets) carry no object data.
  return new CertsApiError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
    code: 'Unavailable',
    cause: error,
  });
}

/** The `message` of a metav1.Status body (JSON text or object), if there is one. */
function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  }
  return undefined;
}
