// In-memory fakes and test seams for this package and its users' tests (import from
// '@steerer/certs/testing'): a Secret store with real resourceVersion semantics, webhook
// configurations that apply JSON Patch, a manual clock and timers, and a key pool so tests do
// not pay for RSA key generation on every certificate. The fakes fail the way KubeClient does:
// SteererError with code Api and the API server's status. For logs, tests use @steerer/common's
// MemoryLogger or silentLogger.

import { applyJsonPatch } from '@steerer/common';
import { ErrorCode, SteererError, errorMessage, type JsonPatchOp } from '@steerer/common/model';
import { rsaKeyPairGenerator, type KeyPairGenerator, type KeyPairPEM } from './generate.js';
import type { WebhookConfigClient, WebhookConfigKind, WebhookConfiguration } from './ca-bundle.js';
import type { Secret, SecretClient } from './secret.js';
import type { Clock, Timers } from './time.js';

const clone = <T>(value: T): T => structuredClone(value);

/** An API error as KubeClient throws it: code Api, the HTTP status and the Status reason. */
export function apiError(status: number, message: string, reason?: string): SteererError {
  return new SteererError(ErrorCode.Api, message, { status, reason });
}

export type SecretOp = 'get' | 'create' | 'replace';

/**
 * Secrets keyed by namespace/name. create of an existing name (AlreadyExists) and replace with a
 * stale resourceVersion (Conflict) throw a 409 API error, like the API server.
 */
export class InMemorySecretClient implements SecretClient {
  readonly secrets = new Map<string, Secret>();
  readonly calls: Array<{ op: SecretOp; namespace: string; name: string }> = [];
  /** Runs before each operation; may throw (to fail it) or await (to interleave callers). */
  before: ((op: SecretOp, namespace: string, name: string) => Promise<void> | void) | undefined;
  private version = 0;

  async get(namespace: string, name: string): Promise<Secret | undefined> {
    await this.enter('get', namespace, name);
    const stored = this.secrets.get(`${namespace}/${name}`);
    return stored === undefined ? undefined : clone(stored);
  }

  async create(namespace: string, secret: Secret): Promise<Secret> {
    const name = secret.metadata?.name ?? '';
    await this.enter('create', namespace, name);
    if (this.secrets.has(`${namespace}/${name}`)) {
      throw apiError(409, `secrets "${name}" already exists`, 'AlreadyExists');
    }
    return this.store(namespace, name, secret);
  }

  async replace(namespace: string, name: string, secret: Secret): Promise<Secret> {
    await this.enter('replace', namespace, name);
    const stored = this.secrets.get(`${namespace}/${name}`);
    if (stored === undefined) throw apiError(404, `secrets "${name}" not found`, 'NotFound');
    const expected = secret.metadata?.resourceVersion;
    if (expected !== undefined && expected !== stored.metadata?.resourceVersion) {
      throw apiError(409, `secrets "${name}": the object has been modified`, 'Conflict');
    }
    return this.store(namespace, name, secret);
  }

  /** Writes directly, bypassing hooks and preconditions (another writer). */
  put(namespace: string, name: string, secret: Secret): Secret {
    return this.store(namespace, name, secret);
  }

  private async enter(op: SecretOp, namespace: string, name: string): Promise<void> {
    this.calls.push({ op, namespace, name });
    await this.before?.(op, namespace, name);
  }

  private store(namespace: string, name: string, secret: Secret): Secret {
    const stored: Secret = clone({
      ...secret,
      metadata: { ...secret.metadata, name, namespace, resourceVersion: String(++this.version) },
    });
    this.secrets.set(`${namespace}/${name}`, stored);
    return clone(stored);
  }
}

/**
 * Webhook configurations patched with a real RFC 6902 implementation; a patch that does not
 * apply (a failed `test`, a missing path) is rejected with 422 Invalid, like the API server.
 */
export class InMemoryWebhookConfigClient implements WebhookConfigClient {
  readonly configs = new Map<string, WebhookConfiguration>();
  readonly patches: Array<{ kind: WebhookConfigKind; name: string; ops: JsonPatchOp[] }> = [];
  before:
    | ((op: 'get' | 'patch', kind: WebhookConfigKind, name: string) => Promise<void> | void)
    | undefined;

  set(
    kind: WebhookConfigKind,
    name: string,
    webhookNames: readonly string[],
    caBundle?: string,
  ): void {
    this.configs.set(`${kind}/${name}`, {
      metadata: { name, resourceVersion: '1' },
      webhooks: webhookNames.map((webhookName) => ({
        name: webhookName,
        clientConfig: caBundle === undefined ? {} : { caBundle },
      })),
    });
  }

  caBundles(kind: WebhookConfigKind, name: string): Array<string | undefined> {
    return (this.configs.get(`${kind}/${name}`)?.webhooks ?? []).map(
      (w) => w.clientConfig?.caBundle,
    );
  }

  async get(kind: WebhookConfigKind, name: string): Promise<WebhookConfiguration | undefined> {
    await this.before?.('get', kind, name);
    const config = this.configs.get(`${kind}/${name}`);
    return config === undefined ? undefined : clone(config);
  }

  async patch(
    kind: WebhookConfigKind,
    name: string,
    ops: JsonPatchOp[],
  ): Promise<WebhookConfiguration> {
    await this.before?.('patch', kind, name);
    const config = this.configs.get(`${kind}/${name}`);
    if (config === undefined) throw apiError(404, `${kind} "${name}" not found`, 'NotFound');
    const updated = patched(config, ops);
    updated.metadata = {
      ...updated.metadata,
      resourceVersion: String(Number(config.metadata?.resourceVersion ?? 0) + 1),
    };
    this.configs.set(`${kind}/${name}`, updated);
    this.patches.push({ kind, name, ops: clone(ops) });
    return clone(updated);
  }
}

function patched(config: WebhookConfiguration, ops: readonly JsonPatchOp[]): WebhookConfiguration {
  try {
    return applyJsonPatch(clone(config), ops);
  } catch (error) {
    throw apiError(422, `the patch does not apply: ${errorMessage(error)}`, 'Invalid');
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  private current: number;
  constructor(start: Date) {
    this.current = start.getTime();
  }
  readonly now: Clock = () => new Date(this.current);
  set(date: Date): void {
    this.current = date.getTime();
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** Timers that fire only when the test says so; firing also moves the paired clock. */
export class ManualTimers implements Timers {
  private nextId = 0;
  readonly pending = new Map<number, { callback: () => void; delayMs: number }>();

  constructor(private readonly clock?: ManualClock) {}

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = ++this.nextId;
    this.pending.set(id, { callback, delayMs });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** The delays of the scheduled timers. */
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.delayMs);
  }

  /** Fires the earliest-scheduled timer, advancing the clock by its delay. */
  fireNext(): void {
    const first = this.pending.entries().next();
    if (first.done === true) throw new Error('no timer is pending');
    const [id, timer] = first.value;
    this.pending.delete(id);
    this.clock?.advance(timer.delayMs);
    timer.callback();
  }
}

/**
 * Hands out pre-generated key pairs (each at most once, so two CAs never share a key), then
 * falls back to generating fresh ones. Tests that do not care about key strength may pass
 * `bits: 1024` — several times faster to generate.
 */
export async function keyPool(size: number, bits = 2048): Promise<KeyPairGenerator> {
  const generate = rsaKeyPairGenerator(bits);
  const keys: KeyPairPEM[] = await Promise.all(Array.from({ length: size }, () => generate()));
  return () => {
    const next = keys.shift();
    return next === undefined ? generate() : Promise.resolve(next);
  };
}
