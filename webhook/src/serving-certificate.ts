// Where the HTTPS server's certificate comes from and how a new one gets in without a restart:
// a Secret Steerer manages (created if absent, rotated, CA published to the webhook
// configurations), a Secret someone else manages (read only), or files (--cert-dir).
//
// When the CA changes, the new bundle (new CA + old CA) is published first; the API server
// needs a moment to see it, so the certificate signed by the new CA is installed only after
// --ca-propagation-delay. Until then the old certificate, which both bundles trust, serves.

import type { SecureContextOptions } from 'node:tls';
import {
  CertificateManager,
  TlsReloader,
  describeMaterial,
  inspectCertificate,
  readCertificateDir,
  splitPEMBundle,
} from '@steerer/certs';
import type {
  CertificateMaterial,
  KeyPairGenerator,
  SecretClient,
  WebhookConfigClient,
} from '@steerer/certs';
import { abortableSleep, errorMessage } from '@steerer/common';
import type { Logger } from '@steerer/common';
import type { WebhookMetrics } from './metrics.js';

export type CertificateSourceOptions =
  | {
      kind: 'secret';
      mode: 'managed' | 'external';
      secrets: SecretClient;
      /** Omit to leave the caBundle to someone else (cert-manager's cainjector). */
      webhookConfigs?: WebhookConfigClient;
      namespace: string;
      secretName: string;
      dnsNames: readonly string[];
      ips: readonly string[];
      webhookConfigName: string;
      checkIntervalMs: number;
      /** Injected for tests (pre-generated keys). */
      generateKeyPair?: KeyPairGenerator;
    }
  | { kind: 'dir'; dir: string };

export interface ServingCertificateOptions {
  source: CertificateSourceOptions;
  caPropagationDelayMs: number;
  logger: Logger;
  metrics: WebhookMetrics;
  /** Injected for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** What a forced rotation replaces: the serving certificate, or the CA too. */
export type RotationScope = 'serving' | 'all';

function signingCA(material: CertificateMaterial): string {
  return splitPEMBundle(material.caCertPEM)[0] ?? '';
}

export class ServingCertificate {
  private material: CertificateMaterial | undefined;
  private reloader: TlsReloader | undefined;
  private manager: CertificateManager | undefined;
  private signal: AbortSignal | undefined;

  constructor(private readonly o: ServingCertificateOptions) {}

  /** The material new handshakes get (after start). */
  get current(): CertificateMaterial | undefined {
    return this.material;
  }

  /** Loads the first certificate (retrying with backoff for a Secret) and keeps it current until `signal` aborts. */
  async start(signal: AbortSignal): Promise<CertificateMaterial> {
    this.signal = signal;
    const src = this.o.source;
    if (src.kind === 'dir') {
      const m = await readCertificateDir(src.dir);
      this.adopt(m);
      this.o.logger.info('serving certificate loaded from files', {
        dir: src.dir,
        ...describeMaterial(m),
      });
      return m;
    }
    const manager = new CertificateManager({
      mode: src.mode,
      secrets: src.secrets,
      namespace: src.namespace,
      secretName: src.secretName,
      dnsNames: src.dnsNames,
      ips: src.ips,
      checkIntervalMs: src.checkIntervalMs,
      logger: this.o.logger,
      ...(src.generateKeyPair ? { generateKeyPair: src.generateKeyPair } : {}),
      ...(src.webhookConfigs
        ? {
            webhookConfigs: src.webhookConfigs,
            mutatingWebhooks: [src.webhookConfigName],
            validatingWebhooks: [src.webhookConfigName],
          }
        : {}),
    });
    this.manager = manager;
    manager.onChange((m) => this.onChange(m));
    return manager.start(signal);
  }

  private async onChange(m: CertificateMaterial): Promise<void> {
    const previous = this.material;
    if (
      previous &&
      this.reloader &&
      signingCA(previous) !== signingCA(m) &&
      this.o.caPropagationDelayMs > 0
    ) {
      this.o.logger.info('new CA published; waiting before serving a certificate it signed', {
        delayMs: this.o.caPropagationDelayMs,
      });
      const signal = this.signal ?? new AbortController().signal;
      await (this.o.sleep ?? abortableSleep)(this.o.caPropagationDelayMs, signal);
    }
    this.adopt(m);
  }

  private adopt(m: CertificateMaterial): void {
    this.material = m;
    try {
      this.o.metrics.certificateNotAfter.set(
        inspectCertificate(m.certPEM).notAfter.getTime() / 1000,
      );
    } catch {
      // describeMaterial reports an unparseable certificate; the gauge keeps its value.
    }
    if (this.reloader?.apply(m)) {
      this.o.metrics.certificateReloads.inc();
      this.o.logger.info('serving certificate reloaded', describeMaterial(m));
    }
  }

  /** Hot-swaps future certificates into `server`, which was created with `initial`. */
  attach(
    server: { setSecureContext(options: SecureContextOptions): void },
    initial: CertificateMaterial,
  ): void {
    this.reloader = new TlsReloader(server, {}, initial);
    if (this.material) this.adopt(this.material);
  }

  /**
   * Forces a rotation (SIGHUP: serving certificate; SIGUSR2: CA too). Managed mode re-issues
   * and publishes; --cert-dir re-reads the files; external mode cannot rotate.
   */
  async rotate(scope: RotationScope): Promise<void> {
    const src = this.o.source;
    if (src.kind === 'dir') {
      const m = await readCertificateDir(src.dir);
      this.adopt(m);
      return;
    }
    if (!this.manager) throw new Error('the certificate source has not started');
    if (src.mode === 'external')
      throw new Error('certificates are managed externally; rotate them at their source');
    await this.manager.rotateNow(scope);
  }

  /** Logs instead of throwing, for signal handlers. */
  rotateAndLog(scope: RotationScope): void {
    this.o.logger.info('certificate rotation requested', { scope });
    this.rotate(scope).then(
      () =>
        this.o.logger.info('certificate rotation done', {
          scope,
          ...(this.material ? describeMaterial(this.material) : {}),
        }),
      (e: unknown) =>
        this.o.logger.error('certificate rotation failed', { scope, error: errorMessage(e) }),
    );
  }
}
