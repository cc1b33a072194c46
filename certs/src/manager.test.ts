import { beforeAll, describe, expect, it } from '@jest/globals';
import { MemoryLogger, type LogLevel } from '@steerer/common';
import type { KeyPairGenerator } from './generate.js';
import { inspectCertificate, splitPEMBundle, verifyChain } from './inspect.js';
import { CertificateManager, type CertificateManagerOptions } from './manager.js';
import type { CertificateMaterial } from './material.js';
import { materialFromSecret, secretForMaterial } from './secret.js';
import {
  InMemorySecretClient,
  InMemoryWebhookConfigClient,
  ManualClock,
  ManualTimers,
  apiError,
  keyPool,
} from './testing.js';

const START = new Date('2030-03-01T12:00:00Z');
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const NS = 'istio-system';
const SECRET = 'steerer-webhook-tls';
const M = 'MutatingWebhookConfiguration';
const V = 'ValidatingWebhookConfiguration';

/** The messages logged, optionally at one level only. */
const messages = (logger: MemoryLogger, level?: LogLevel): string[] =>
  logger.entries.filter((e) => level === undefined || e.level === level).map((e) => e.message);

let keys: KeyPairGenerator;
beforeAll(async () => {
  keys = await keyPool(40, 1024);
});

function setup(overrides: Partial<CertificateManagerOptions> = {}) {
  const clock = new ManualClock(START);
  const timers = new ManualTimers(clock);
  const secrets = new InMemorySecretClient();
  const configs = new InMemoryWebhookConfigClient();
  configs.set(M, 'steerer', ['rollouts.steerer.io']);
  configs.set(V, 'steerer', ['validate.steerer.io']);
  const logger = new MemoryLogger();
  const delivered: CertificateMaterial[] = [];
  const manager = new CertificateManager({
    secrets,
    webhookConfigs: configs,
    mutatingWebhooks: ['steerer'],
    validatingWebhooks: ['steerer'],
    namespace: NS,
    secretName: SECRET,
    dnsNames: ['steerer-webhook.istio-system.svc'],
    ips: ['127.0.0.1'],
    logger,
    clock: clock.now,
    timers,
    random: () => 0.5, // no jitter: delays are exact
    generateKeyPair: keys,
    ...overrides,
  });
  manager.onChange((material) => {
    delivered.push(material);
  });
  const controller = new AbortController();
  const storedMaterial = (): CertificateMaterial => {
    const secret = secrets.secrets.get(`${NS}/${SECRET}`);
    const decoded = secret === undefined ? undefined : materialFromSecret(secret);
    if (decoded?.ok !== true) throw new Error('no material stored');
    return decoded.material;
  };
  const b64 = (pem: string): string => Buffer.from(pem).toString('base64');
  return {
    clock,
    timers,
    secrets,
    configs,
    logger,
    delivered,
    manager,
    controller,
    storedMaterial,
    b64,
  };
}

describe('CertificateManager: start', () => {
  it('creates the Secret, publishes the CA bundle, delivers the material and schedules the next check', async () => {
    const t = setup();
    const material = await t.manager.start(t.controller.signal);
    expect(material).toEqual(t.storedMaterial());
    expect(t.delivered).toEqual([material]);
    expect(t.manager.current).toBe(material);
    expect(t.configs.caBundles(M, 'steerer')).toEqual([t.b64(material.caCertPEM)]);
    expect(t.configs.caBundles(V, 'steerer')).toEqual([t.b64(material.caCertPEM)]);
    expect(t.timers.delays()).toEqual([HOUR]);
    expect(t.manager.nextCheckAt).toEqual(new Date(START.getTime() + HOUR));
    expect(messages(t.logger)).toEqual([
      'certificate created',
      'CA bundle published',
      'CA bundle published',
      'serving certificate loaded',
    ]);
    t.controller.abort();
  });

  it('an hourly check with nothing due writes nothing and delivers nothing', async () => {
    const t = setup();
    await t.manager.start(t.controller.signal);
    const writes = t.secrets.calls.filter((c) => c.op !== 'get').length;
    t.timers.fireNext();
    await t.manager.whenIdle();
    expect(t.secrets.calls.filter((c) => c.op !== 'get')).toHaveLength(writes);
    expect(t.configs.patches).toHaveLength(2);
    expect(t.delivered).toHaveLength(1);
    expect(t.timers.delays()).toEqual([HOUR]);
    t.controller.abort();
  });

  it('listeners registered before start see the material before start resolves', async () => {
    const t = setup();
    const order: string[] = [];
    t.manager.onChange(() => {
      order.push('listener');
    });
    await t.manager.start(t.controller.signal).then(() => order.push('start resolved'));
    expect(order).toEqual(['listener', 'start resolved']);
    t.controller.abort();
  });
});

describe('CertificateManager: rotation timing', () => {
  it('wakes at the renewal time when it is sooner than the check interval, and rotates then', async () => {
    const t = setup({ validityMs: 3 * DAY, renewBeforeMs: DAY, checkIntervalMs: 7 * DAY });
    const first = await t.manager.start(t.controller.signal);
    const threshold = inspectCertificate(first.certPEM).notAfter.getTime() - DAY;
    expect(t.timers.delays()).toEqual([threshold - START.getTime()]);

    t.timers.fireNext(); // the clock moves to exactly the renewal time
    await t.manager.whenIdle();
    expect(t.delivered).toHaveLength(2);
    const second = t.delivered[1] as CertificateMaterial;
    expect(second.certPEM).not.toBe(first.certPEM);
    expect(second.caCertPEM).toBe(first.caCertPEM);
    const rotated = t.logger.entries.find((e) => e.message === 'certificate rotated');
    expect(rotated?.fields).toMatchObject({ reason: 'ExpiringSoon' });
    expect(t.timers.delays()).toEqual([2 * DAY]);
    t.controller.abort();
  });
});

describe('CertificateManager: failures', () => {
  it('backs off (1s, 2s, 4s …) on API errors, never throws from a timer, then recovers', async () => {
    const t = setup();
    let failuresLeft = 3;
    t.secrets.before = () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        throw apiError(503, 'service unavailable', 'ServiceUnavailable');
      }
    };
    let started = false;
    const starting = t.manager.start(t.controller.signal).then(() => (started = true));
    await t.manager.whenIdle();
    expect(t.timers.delays()).toEqual([1000]);
    t.timers.fireNext();
    await t.manager.whenIdle();
    expect(t.timers.delays()).toEqual([2000]);
    t.timers.fireNext();
    await t.manager.whenIdle();
    expect(t.timers.delays()).toEqual([4000]);
    expect(started).toBe(false);
    t.timers.fireNext();
    await starting;
    expect(t.timers.delays()).toEqual([HOUR]);
    const errors = t.logger.entries.filter((e) => e.level === 'error');
    expect(errors.map((e) => e.fields?.['retryInMs'])).toEqual([1000, 2000, 4000]);
    expect(errors[0]?.fields?.['error']).toBe('Api (503): service unavailable');
    t.controller.abort();
  });

  it('caps the backoff and applies ±20% jitter', async () => {
    const t = setup({ backoff: { initialMs: 1000, maxMs: 3000 }, random: () => 0 });
    t.secrets.before = () => {
      throw apiError(403, 'forbidden', 'Forbidden');
    };
    void t.manager.start(t.controller.signal).catch(() => undefined);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      await t.manager.whenIdle();
      seen.push(...t.timers.delays());
      t.timers.fireNext();
    }
    expect(seen).toEqual([800, 1600, 2400, 2400]);
    t.controller.abort();
  });

  it('after a CA change, does not serve the new certificate until the API server trusts its CA', async () => {
    const t = setup();
    const first = await t.manager.start(t.controller.signal);
    let failPatch = true;
    t.configs.before = (op) => {
      if (op === 'patch' && failPatch) throw apiError(504, 'etcd timeout', 'Timeout');
    };
    await expect(t.manager.rotateNow('all')).rejects.toThrow('etcd timeout');
    expect(t.delivered).toEqual([first]); // still serving the old certificate
    expect(t.storedMaterial().caCertPEM).not.toBe(first.caCertPEM); // but the Secret is rotated
    expect(t.timers.delays()).toEqual([1000]);

    failPatch = false;
    t.timers.fireNext();
    await t.manager.whenIdle();
    expect(t.delivered).toHaveLength(2);
    expect(t.delivered[1]).toEqual(t.storedMaterial());
    expect(t.configs.caBundles(M, 'steerer')).toEqual([t.b64(t.storedMaterial().caCertPEM)]);
    t.controller.abort();
  });

  it('on a first pass whose publishing fails, still serves (start resolves) and retries', async () => {
    const t = setup();
    let fail = true;
    t.configs.before = (op) => {
      if (op === 'get' && fail) throw apiError(403, 'forbidden', 'Forbidden');
    };
    const material = await t.manager.start(t.controller.signal);
    expect(t.delivered).toEqual([material]);
    expect(messages(t.logger, 'error')).toEqual(['certificate pass failed']);
    expect(t.timers.delays()).toEqual([1000]);
    fail = false;
    t.timers.fireNext();
    await t.manager.whenIdle();
    expect(t.configs.caBundles(M, 'steerer')).toEqual([t.b64(material.caCertPEM)]);
    expect(t.timers.delays()).toEqual([HOUR]);
    t.controller.abort();
  });

  it('rotateNow before start is refused', async () => {
    await expect(setup().manager.rotateNow()).rejects.toThrow('call start() first');
  });

  it('delivers the certificate but retries soon while a webhook configuration is missing', async () => {
    const t = setup();
    t.configs.configs.delete(`${V}/steerer`);
    const material = await t.manager.start(t.controller.signal);
    expect(t.delivered).toEqual([material]);
    expect(t.logger.entries.find((e) => e.level === 'warn')).toMatchObject({
      message: 'webhook configuration not found; will retry',
      fields: { kind: V, name: 'steerer' },
    });
    expect(t.timers.delays()).toEqual([1000]);

    t.configs.set(V, 'steerer', ['validate.steerer.io']); // helm created it meanwhile
    t.timers.fireNext();
    await t.manager.whenIdle();
    expect(t.configs.caBundles(V, 'steerer')).toEqual([t.b64(material.caCertPEM)]);
    expect(t.timers.delays()).toEqual([HOUR]);
    expect(t.delivered).toHaveLength(1);
    t.controller.abort();
  });

  it('treats a failing listener as a failed pass and delivers again on the retry', async () => {
    const t = setup();
    let fail = true;
    t.manager.onChange(() => {
      if (fail) throw new Error('reload refused');
    });
    void t.manager.start(t.controller.signal);
    await t.manager.whenIdle();
    expect(t.manager.current).toBeUndefined();
    expect(t.logger.entries.find((e) => e.level === 'error')?.fields?.['error']).toBe(
      'reload refused',
    );
    fail = false;
    t.timers.fireNext();
    await t.manager.whenIdle();
    expect(t.manager.current).toEqual(t.storedMaterial());
    t.controller.abort();
  });
});

describe('CertificateManager: rotateNow', () => {
  it('re-issues the serving certificate with the same CA and delivers it', async () => {
    const t = setup();
    const first = await t.manager.start(t.controller.signal);
    const second = await t.manager.rotateNow();
    expect(second.certPEM).not.toBe(first.certPEM);
    expect(second.caCertPEM).toBe(first.caCertPEM);
    expect(t.delivered).toEqual([first, second]);
    expect(t.storedMaterial()).toEqual(second);
    t.controller.abort();
  });

  it('rotating the CA publishes the two-CA bundle before any listener swaps certificates', async () => {
    const t = setup();
    const first = await t.manager.start(t.controller.signal);
    const published: Array<Array<string | undefined>> = [];
    t.manager.onChange(() => {
      published.push(t.configs.caBundles(M, 'steerer'));
    });
    const second = await t.manager.rotateNow('all');
    expect(splitPEMBundle(second.caCertPEM)).toHaveLength(2);
    expect(published).toEqual([[t.b64(second.caCertPEM)]]);
    expect(verifyChain(second.caCertPEM, first.certPEM)).toBe(true); // old replicas still trusted
    t.controller.abort();
  });

  it('never runs two passes at once', async () => {
    const t = setup();
    await t.manager.start(t.controller.signal);
    let active = 0;
    let maxActive = 0;
    t.secrets.before = async (op) => {
      if (op !== 'get') return;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setImmediate(resolve));
      active--;
    };
    t.timers.fireNext();
    const rotations = [t.manager.rotateNow(), t.manager.rotateNow()];
    await Promise.all(rotations);
    await t.manager.whenIdle();
    expect(maxActive).toBe(1);
    expect(t.delivered).toHaveLength(3);
    t.controller.abort();
  });
});

describe('CertificateManager: abort', () => {
  it('clears its timer and stops scheduling', async () => {
    const t = setup();
    await t.manager.start(t.controller.signal);
    expect(t.timers.pending.size).toBe(1);
    t.controller.abort();
    expect(t.timers.pending.size).toBe(0);
    expect(t.manager.nextCheckAt).toBeUndefined();
    await expect(t.manager.rotateNow()).rejects.toThrow('stopped');
    expect(t.timers.pending.size).toBe(0);
  });

  it('rejects start with the abort reason when aborted before the first success', async () => {
    const t = setup();
    t.secrets.before = () => {
      throw apiError(503, 'unavailable', 'ServiceUnavailable');
    };
    const starting = t.manager.start(t.controller.signal);
    await t.manager.whenIdle();
    t.controller.abort(new Error('shutting down'));
    await expect(starting).rejects.toThrow('shutting down');
    expect(t.timers.pending.size).toBe(0);
  });

  it('does not deliver material from a pass that finishes after abort', async () => {
    const t = setup();
    t.secrets.before = (op) => {
      if (op === 'create') t.controller.abort();
    };
    const starting = t.manager.start(t.controller.signal);
    await expect(starting).rejects.toBeDefined();
    await t.manager.whenIdle();
    expect(t.delivered).toEqual([]);
    expect(t.timers.pending.size).toBe(0);
  });
});

describe('CertificateManager: external mode', () => {
  it('serves a Secret maintained by someone else, never writes, and cannot rotate', async () => {
    const source = setup();
    const external = await source.manager.start(source.controller.signal);
    source.controller.abort();
    const { caKeyPEM: _notShared, ...certManagerMaterial } = external;

    const t = setup({ mode: 'external', webhookConfigs: undefined });
    t.secrets.put(
      NS,
      SECRET,
      secretForMaterial(certManagerMaterial, { namespace: NS, name: SECRET }),
    );
    const material = await t.manager.start(t.controller.signal);
    expect(material).toEqual(certManagerMaterial);
    expect(t.secrets.calls.map((c) => c.op)).toEqual(['get']);
    await expect(t.manager.rotateNow()).rejects.toThrow('managed externally');
    t.controller.abort();
  });

  it('waits (with backoff) for the Secret to appear', async () => {
    const t = setup({ mode: 'external' });
    const starting = t.manager.start(t.controller.signal);
    await t.manager.whenIdle();
    expect(t.logger.entries[0]).toMatchObject({
      level: 'error',
      fields: { error: expect.stringContaining('does not exist') },
    });
    expect(t.timers.delays()).toEqual([1000]);
    const source = setup();
    const m = await source.manager.start(source.controller.signal);
    source.controller.abort();
    t.secrets.put(NS, SECRET, secretForMaterial(m, { namespace: NS, name: SECRET }));
    t.timers.fireNext();
    await expect(starting).resolves.toEqual(m);
    t.controller.abort();
  });
});

describe('CertificateManager: logs', () => {
  it('never logs key material, even when an API error echoes it', async () => {
    const t = setup({ validityMs: 3 * DAY, renewBeforeMs: DAY, checkIntervalMs: 7 * DAY });
    await t.manager.start(t.controller.signal);
    await t.manager.rotateNow('all');
    t.timers.fireNext(); // scheduled renewal
    await t.manager.whenIdle();
    const leaked = t.storedMaterial();
    t.secrets.before = () => {
      // e.g. an admission error quoting the object it rejected
      throw apiError(
        422,
        `invalid: ${leaked.keyPEM} ${Buffer.from(leaked.keyPEM).toString('base64')}`,
        'Invalid',
      );
    };
    await expect(t.manager.rotateNow()).rejects.toThrow();

    const text = JSON.stringify(t.logger.entries);
    expect(t.logger.entries.length).toBeGreaterThan(8);
    expect(text).not.toMatch(/PRIVATE KEY/);
    for (const material of [...t.delivered, t.storedMaterial()]) {
      for (const pem of [material.keyPEM, material.caKeyPEM ?? '']) {
        const body = pem.split('\n').slice(1, -2).join('');
        expect(body.length).toBeGreaterThan(100);
        for (let i = 0; i + 24 <= body.length; i += 24) {
          expect(text).not.toContain(body.slice(i, i + 24));
        }
        expect(text).not.toContain(Buffer.from(pem).toString('base64').slice(0, 40));
      }
    }
  });
});
