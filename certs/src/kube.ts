// SecretClient and WebhookConfigClient on top of the project's KubeClient, so the webhook
// process talks to the API server through one client and one connection pool. No logic beyond
// paths and error handling: a 404 on get is `undefined`; every other failure is rethrown as a
// SteererError with the same code and status whose message has key-like text redacted.
// KubeClient's messages never hold our request bodies, but they do quote the answer: the
// Status message (an admission error may quote the object it rejected, and for Secrets that
// means keys) or, for an answer that is not a Status, its first 300 characters.

import { resourcePath, type KubeClient } from '@steerer/common';
import {
  ErrorCode,
  SteererError,
  errorMessage,
  isApiError,
  type JsonPatchOp,
} from '@steerer/common/model';
import type { WebhookConfigClient, WebhookConfigKind, WebhookConfiguration } from './ca-bundle.js';
import { redactKeyMaterial } from './redact.js';
import type { Secret, SecretClient } from './secret.js';

const secretsPath = (namespace: string, name?: string): string =>
  resourcePath({ group: '', version: 'v1', plural: 'secrets', namespace, name });

const PLURAL: Readonly<Record<WebhookConfigKind, string>> = {
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
};

const webhookConfigPath = (kind: WebhookConfigKind, name: string): string =>
  resourcePath({
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: PLURAL[kind],
    name,
  });

export function kubeSecretClient(client: KubeClient): SecretClient {
  return {
    get: (namespace, name) =>
      orUndefinedIfNotFound(client.get<Secret>(secretsPath(namespace, name))),
    create: (namespace, secret) => redacted(client.create<Secret>(secretsPath(namespace), secret)),
    replace: (namespace, name, secret) =>
      redacted(client.replace<Secret>(secretsPath(namespace, name), secret)),
  };
}

export function kubeWebhookConfigClient(client: KubeClient): WebhookConfigClient {
  return {
    get: (kind: WebhookConfigKind, name: string) =>
      orUndefinedIfNotFound(client.get<WebhookConfiguration>(webhookConfigPath(kind, name))),
    patch: (kind: WebhookConfigKind, name: string, ops: JsonPatchOp[]) =>
      redacted(client.patch<WebhookConfiguration>(webhookConfigPath(kind, name), 'json', ops)),
  };
}

async function orUndefinedIfNotFound<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (isApiError(error, 404)) return undefined;
    throw redactError(error);
  }
}

async function redacted<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    throw redactError(error);
  }
}

/**
 * The same failure (code, status, reason, Retry-After) with key-like text removed from its
 * message. The cause is dropped: it would repeat the text, or quote a body that failed to parse.
 */
function redactError(error: unknown): SteererError {
  const message = redactKeyMaterial(errorMessage(error));
  if (!(error instanceof SteererError)) return new SteererError(ErrorCode.Network, message);
  const { status, reason, retryAfterSeconds } = error;
  return new SteererError(error.code, message, { status, reason, retryAfterSeconds });
}
