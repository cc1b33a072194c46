// Leader election on a coordination.k8s.io/v1 Lease, so only one controller replica
// acts at a time. Expiry is judged by how long the Lease has gone unchanged as seen by
// this replica's own clock, not by comparing timestamps across machines.

import { abortableSleep, errorMessage, isApiError, microTime, resourcePath } from '@steerer/common';
import type { KubeClient, Logger } from '@steerer/common';

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  client: KubeClient;
  logger: Logger;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  now?: () => number;
}

export class LeaderElector {
  private observed: { key: string; at: number } | undefined;
  /** When another holder's Lease expires by this replica's clock, if one was seen. */
  private expiresAt: number | undefined;
  private readonly now: () => number;

  constructor(private readonly o: LeaderElectionOptions) {
    this.now = o.now ?? Date.now;
  }

  private get path(): string {
    return resourcePath({
      group: 'coordination.k8s.io',
      version: 'v1',
      plural: 'leases',
      namespace: this.o.namespace,
    });
  }

  /** One attempt to acquire or renew; true when this replica holds the Lease. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const spec = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.round(this.o.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease;
    try {
      lease = await this.o.client.get<Lease>(`${this.path}/${this.o.name}`);
    } catch (e) {
      if (!isApiError(e, 404)) throw e;
      await this.o.client.create<Lease>(this.path, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
      });
      return true;
    }
    const holder = lease.spec.holderIdentity;
    const key = `${holder ?? ''}|${lease.spec.renewTime ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: now };
    const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
    const mine = holder === this.o.identity;
    const expired = !holder || now - this.observed.at > duration;
    this.expiresAt = mine || expired ? undefined : this.observed.at + duration + 1;
    if (!mine && !expired) return false;
    const next: Lease = {
      ...lease,
      spec: {
        ...lease.spec,
        ...spec,
        acquireTime: mine ? lease.spec.acquireTime : microTime(now),
        leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      const updated = await this.o.client.replace<Lease>(`${this.path}/${this.o.name}`, next);
      this.observed = { key: `${this.o.identity}|${updated.spec.renewTime ?? ''}`, at: now };
      return true;
    } catch (e) {
      if (isApiError(e, 409)) return false;
      throw e;
    }
  }

  /** Resolves once leadership is acquired (or the signal aborts: false). */
  async acquire(signal: AbortSignal): Promise<boolean> {
    let logged = false;
    while (!signal.aborted) {
      try {
        if (await this.tryAcquireOrRenew()) {
          this.o.logger.info('became leader', {
            lease: `${this.o.namespace}/${this.o.name}`,
            identity: this.o.identity,
          });
          return true;
        }
        if (!logged)
          this.o.logger.info('waiting for leadership', {
            lease: `${this.o.namespace}/${this.o.name}`,
          });
        logged = true;
      } catch (e) {
        this.o.logger.warn('leader election failed; retrying', { error: errorMessage(e) });
      }
      await abortableSleep(this.nextAttemptInMs(), signal);
    }
    return false;
  }

  /**
   * The retry period, or less when the holder's Lease expires sooner: a standby takes over
   * the moment a dead leader's Lease runs out instead of up to a retry period later.
   */
  nextAttemptInMs(): number {
    if (this.expiresAt === undefined) return this.o.retryPeriodMs;
    return Math.min(this.o.retryPeriodMs, Math.max(10, this.expiresAt - this.now()));
  }

  /** Renews until it fails to for renewDeadline; then calls onLost once. */
  async hold(signal: AbortSignal, onLost: () => void): Promise<void> {
    let lastRenew = this.now();
    while (!signal.aborted) {
      await abortableSleep(this.o.retryPeriodMs, signal);
      if (signal.aborted) return;
      try {
        if (await this.tryAcquireOrRenew()) {
          lastRenew = this.now();
          continue;
        }
        this.o.logger.error('leadership taken by another replica');
        onLost();
        return;
      } catch (e) {
        this.o.logger.warn('lease renewal failed', { error: errorMessage(e) });
      }
      if (this.now() - lastRenew > this.o.renewDeadlineMs) {
        this.o.logger.error('could not renew the lease before the deadline; giving up leadership');
        onLost();
        return;
      }
    }
  }

  /** Gives the Lease up on shutdown, so a successor need not wait for it to expire. */
  async release(): Promise<void> {
    try {
      const lease = await this.o.client.get<Lease>(`${this.path}/${this.o.name}`);
      if (lease.spec.holderIdentity !== this.o.identity) return;
      await this.o.client.replace(`${this.path}/${this.o.name}`, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: microTime(this.now()),
        },
      });
    } catch (e) {
      this.o.logger.warn('could not release the lease', { error: errorMessage(e) });
    }
  }
}
