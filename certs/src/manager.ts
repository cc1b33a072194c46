// Keeps the webhook's certificate current for the life of the process: ensures the Secret,
// publishes the CA bundle, and hands new material to listeners (the TlsReloader). Runs at start,
// then every checkInterval or at the renewal time, whichever is sooner; API failures back off
// with jitter. Passes never overlap, never throw out of a timer, and stop on abort.

import type { Logger } from '@steerer/common';
import { toError } from '@steerer/common/model';
import { ensureCertificate, rotationPolicy, validateIssuancePolicy } from './ensure.js';
import type { IssuancePolicy } from './ensure.js';
import { injectCABundle, type WebhookConfigClient } from './ca-bundle.js';
import { describeMaterial } from './inspect.js';
import { loadCertificate } from './load.js';
import { sameMaterial, type CertificateMaterial } from './material.js';
import { describeError } from './redact.js';
import { needsRotation, type RotationScope } from './rotation.js';
import type { SecretClient } from './secret.js';
import { systemClock, systemTimers, type Clock, type Timers } from './time.js';

export const CertificateMode = {
  /** Steerer creates, stores and rotates the CA and serving certificate. */
  Managed: 'managed',
  /** Someone else (cert-manager) maintains the Secret; Steerer only reads and serves it. */
  External: 'external',
} as const;
export type CertificateMode = (typeof CertificateMode)[keyof typeof CertificateMode];

export interface CertificateManagerOptions extends IssuancePolicy {
  secrets: SecretClient;
  namespace: string;
  secretName: string;
  /** Default `managed`. */
  mode?: CertificateMode;
  /** Needed to publish the CA bundle; omit (or name no configurations) to skip injection. */
  webhookConfigs?: WebhookConfigClient;
  mutatingWebhooks?: readonly string[];
  validatingWebhooks?: readonly string[];
  /** Upper bound between checks. Default one hour. */
  checkIntervalMs?: number;
  /** Retry delays after a failed pass: initialMs doubling up to maxMs, ±20% jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  logger: Logger;
  clock?: Clock;
  timers?: Timers;
  /** [0, 1) source for jitter. */
  random?: () => number;
}

export type CertificateListener = (material: CertificateMaterial) => void | Promise<void>;

const HOUR_MS = 60 * 60 * 1000;
const MIN_DELAY_MS = 1000;

interface PassOutcome {
  material: CertificateMaterial;
  /** Something is not finished (a webhook configuration is missing): retry with backoff. */
  retrySoon: boolean;
  rotateAt: Date | undefined;
}

export class CertificateManager {
  private readonly opts: CertificateManagerOptions;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly listeners = new Set<CertificateListener>();
  private delivered: CertificateMaterial | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private timer: unknown;
  private failures = 0;
  private started = false;
  private stopped = false;
  private next: Date | undefined;
  private first:
    { resolve: (m: CertificateMaterial) => void; reject: (e: unknown) => void } | undefined;

  constructor(options: CertificateManagerOptions) {
    if ((options.mode ?? 'managed') === 'managed') validateIssuancePolicy(options);
    this.opts = options;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
  }

  /** The material most recently handed to listeners. */
  get current(): CertificateMaterial | undefined {
    return this.delivered;
  }

  /** When the next scheduled pass runs, if one is scheduled. */
  get nextCheckAt(): Date | undefined {
    return this.next;
  }

  /** Resolves when no pass is running or queued (for shutdown and tests). */
  async whenIdle(): Promise<void> {
    let tail: Promise<unknown>;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }

  /** Listeners run, in order, after the CA bundle is published; returns an unsubscribe. */
  onChange(listener: CertificateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs the first pass (retrying with backoff) and resolves with the first material; keeps
   * running until `signal` aborts. Rejects with the abort reason if aborted before then.
   */
  start(signal: AbortSignal): Promise<CertificateMaterial> {
    if (this.started) throw new Error('CertificateManager already started');
    this.started = true;
    const first = new Promise<CertificateMaterial>((resolve, reject) => {
      this.first = { resolve, reject };
    });
    if (signal.aborted) {
      this.stop(signal.reason);
      return first;
    }
    signal.addEventListener('abort', () => this.stop(signal.reason), { once: true });
    void this.run(undefined).catch(() => undefined);
    return first;
  }

  /**
   * Rotates now, even though the material is fine: `serving` re-issues the serving certificate,
   * `all` also replaces the CA (the old CA stays in the bundle while valid). Resolves once the
   * new material is stored, published and delivered; rejects if that pass fails.
   */
  rotateNow(scope: RotationScope = 'serving'): Promise<CertificateMaterial> {
    if (this.mode() === 'external') {
      return Promise.reject(new Error('rotateNow: certificates are managed externally'));
    }
    if (!this.started) return Promise.reject(new Error('rotateNow: call start() first'));
    return this.run(scope);
  }

  private mode(): CertificateMode {
    return this.opts.mode ?? 'managed';
  }

  private stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimer();
    this.next = undefined;
    this.first?.reject(reason);
    this.first = undefined;
  }

  /** Serialises passes; schedules the next one whatever the outcome. */
  private run(force: RotationScope | undefined): Promise<CertificateMaterial> {
    const pass = async (): Promise<CertificateMaterial> => {
      if (this.stopped) throw new Error('CertificateManager stopped');
      try {
        const outcome = await this.pass(force);
        this.failures = outcome.retrySoon ? this.failures + 1 : 0;
        this.schedule(
          outcome.retrySoon ? this.backoffDelay() : this.regularDelay(outcome.rotateAt),
        );
        this.settleFirst();
        return outcome.material;
      } catch (error) {
        this.failures++;
        const delay = this.backoffDelay();
        this.opts.logger.error('certificate pass failed', {
          ...this.where(),
          error: describeError(error),
          failures: this.failures,
          retryInMs: delay,
        });
        this.schedule(delay);
        // e.g. the bundle could not be published on the very first pass: serve anyway.
        this.settleFirst();
        throw error;
      }
    };
    const result = this.tail.then(pass, pass);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves start() once material has been delivered. */
  private settleFirst(): void {
    if (this.delivered === undefined || this.stopped) return;
    this.first?.resolve(this.delivered);
    this.first = undefined;
  }

  private async pass(force: RotationScope | undefined): Promise<PassOutcome> {
    const now = this.clock();
    const { material, rotateAt } =
      this.mode() === 'managed' ? await this.ensure(now, force) : await this.load(now);
    const published = await this.publish(material);
    if (this.stopped) return { material, retrySoon: false, rotateAt };
    if (published.error !== undefined && this.delivered !== undefined && published.caChanged) {
      // Serving a certificate from a CA the API server does not trust yet would break
      // admission; keep the old one (still valid for a third of its life) until this works.
      throw published.error;
    }
    await this.deliver(material);
    if (published.error !== undefined) throw published.error;
    return { material, retrySoon: published.missing, rotateAt };
  }

  private async ensure(
    now: Date,
    force: RotationScope | undefined,
  ): Promise<{ material: CertificateMaterial; rotateAt: Date | undefined }> {
    const result = await ensureCertificate(this.opts.secrets, {
      ...this.opts,
      now,
      ...(force === undefined ? {} : { force }),
    });
    if (result.action !== 'Unchanged') {
      this.opts.logger.info(`certificate ${result.action.toLowerCase()}`, {
        ...this.where(),
        action: result.action,
        reason: result.reason,
        message: result.message,
        ...describeMaterial(result.material),
      });
    }
    const decision = needsRotation(result.material, now, rotationPolicy(this.opts));
    return { material: result.material, rotateAt: decision.rotate ? undefined : decision.rotateAt };
  }

  private async load(now: Date): Promise<{ material: CertificateMaterial; rotateAt: undefined }> {
    const result = await loadCertificate(this.opts.secrets, {
      ...this.opts,
      now,
    });
    if (!result.found) throw new Error(`waiting for the certificate: ${result.message}`);
    if (result.problem !== undefined) {
      this.opts.logger.warn('externally managed certificate needs attention', {
        ...this.where(),
        reason: result.problem.reason,
        message: result.problem.message,
      });
    }
    return { material: result.material, rotateAt: undefined };
  }

  private async publish(
    material: CertificateMaterial,
  ): Promise<{ missing: boolean; caChanged: boolean; error?: Error }> {
    const caChanged = material.caCertPEM !== this.delivered?.caCertPEM;
    const client = this.opts.webhookConfigs;
    const mutating = this.opts.mutatingWebhooks ?? [];
    const validating = this.opts.validatingWebhooks ?? [];
    if (
      client === undefined ||
      material.caCertPEM === '' ||
      mutating.length + validating.length === 0
    ) {
      return { missing: false, caChanged };
    }
    try {
      const summary = await injectCABundle(client, {
        mutating,
        validating,
        caBundlePEM: material.caCertPEM,
      });
      for (const result of summary.results.filter((r) => r.outcome === 'Updated')) {
        this.opts.logger.info('CA bundle published', {
          kind: result.kind,
          name: result.name,
          webhooks: result.patched,
        });
      }
      for (const result of summary.missing) {
        this.opts.logger.warn('webhook configuration not found; will retry', {
          kind: result.kind,
          name: result.name,
        });
      }
      return { missing: summary.missing.length > 0, caChanged };
    } catch (error) {
      return { missing: false, caChanged, error: toError(error) };
    }
  }

  private async deliver(material: CertificateMaterial): Promise<void> {
    if (this.stopped || sameMaterial(this.delivered, material)) return;
    for (const listener of this.listeners) {
      // A listener that fails (e.g. a reloader refusing the pair) fails the pass: retried later.
      await listener(material);
    }
    this.delivered = material;
    this.opts.logger.info('serving certificate loaded', {
      ...this.where(),
      ...describeMaterial(material),
    });
  }

  private regularDelay(rotateAt: Date | undefined): number {
    const interval = this.opts.checkIntervalMs ?? HOUR_MS;
    const untilRotation =
      rotateAt === undefined ? interval : rotateAt.getTime() - this.clock().getTime();
    return Math.max(MIN_DELAY_MS, Math.min(interval, untilRotation));
  }

  private backoffDelay(): number {
    const initial = this.opts.backoff?.initialMs ?? 1000;
    const max = this.opts.backoff?.maxMs ?? 5 * 60 * 1000;
    const base = Math.min(max, initial * 2 ** Math.max(0, this.failures - 1));
    const jitter = 0.8 + 0.4 * (this.opts.random ?? Math.random)();
    return Math.round(base * jitter);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.clearTimer();
    this.next = new Date(this.clock().getTime() + delayMs);
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      // Failures are logged inside run(); a timer callback must never reject.
      this.run(undefined).catch(() => undefined);
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private where(): { namespace: string; secret: string; mode: CertificateMode } {
    return { namespace: this.opts.namespace, secret: this.opts.secretName, mode: this.mode() };
  }
}
