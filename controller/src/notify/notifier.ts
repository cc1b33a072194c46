// Notifications, wired: the reconciler hands over each decision it wrote (notify), the pure
// noticesOf says what it calls for, the Rollout's spec.notifications and the controller's
// defaults say who gets it, and each receiver's DeliveryQueue sends it. Never waits.
//
// Receivers' URLs are read from files (the chart mounts a Secret: one key per receiver),
// at every attempt, so a rotated Secret is picked up without a restart. They never appear
// in logs, events, status or metric labels.

import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { NOTIFICATION_RECEIVERS } from '@steerer/common';
import type {
  Logger,
  NotificationReceiver,
  RolloutObject,
  RolloutSpec,
  RolloutStatus,
} from '@steerer/common';
import { DeliveryQueue } from './delivery.js';
import type { Attempt } from './delivery.js';
import { payloadFor } from './format.js';
import { postJson } from './http.js';
import { noticesOf } from './notices.js';
import type { Notice, NoticeKind } from './notices.js';

/** What the reconciler calls: one decision, written. */
export interface NotificationSink {
  notify(
    rollout: RolloutObject,
    next: RolloutStatus,
    spec: RolloutSpec | undefined,
    now: number,
  ): void;
}

/** Where the notifier reports (the controller's metrics). */
export interface NotifierMetrics {
  result(receiver: NotificationReceiver, kind: NoticeKind, result: NotificationResult): void;
  request(receiver: NotificationReceiver, code: string): void;
  depth(receiver: NotificationReceiver, depth: number): void;
}
export type NotificationResult = 'delivered' | 'failed' | 'dropped';

/** Sends one payload to a receiver (postJson, or a fake in tests). */
export type Post = (
  url: string,
  body: string,
  contentType: string,
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<Attempt>;

export interface NotifierOptions {
  /** Each configured receiver's URL, read when needed (undefined: gone). */
  receivers: Partial<Record<NotificationReceiver, () => Promise<string | undefined>>>;
  /** Rollouts without spec.notifications.enabled notify (true) or not (false). */
  defaultEnabled: boolean;
  /** Step notifications for Rollouts that do not say (spec.notifications.steps). */
  steps: boolean;
  /** The dashboard's base URL (`kubectl steerer dashboard` prints it), for links. */
  dashboardUrl?: string | undefined;
  /** Messages waiting per receiver before the oldest is dropped. */
  queueSize: number;
  maxAttempts: number;
  timeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  logger: Logger;
  metrics?: NotifierMetrics | undefined;
  post?: Post;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

interface Item {
  notice: Notice;
}

/** Notices remembered for dedupe; the oldest are forgotten first. */
const REMEMBERED = 10_000;

export class Notifier implements NotificationSink {
  private readonly queues = new Map<NotificationReceiver, DeliveryQueue<Item>>();
  private readonly seen = new Set<string>();

  constructor(private readonly o: NotifierOptions) {
    for (const r of NOTIFICATION_RECEIVERS) {
      const url = o.receivers[r];
      if (url) this.queues.set(r, this.queueFor(r, url));
    }
  }

  /** The receivers configured, in a fixed order. */
  get receivers(): NotificationReceiver[] {
    return [...this.queues.keys()];
  }

  notify(
    rollout: RolloutObject,
    next: RolloutStatus,
    spec: RolloutSpec | undefined,
    now: number,
  ): void {
    if (this.queues.size === 0) return;
    const settings = spec?.notifications;
    if (!(settings?.enabled ?? this.o.defaultEnabled)) return;
    const notices = noticesOf({
      namespace: rollout.metadata.namespace,
      name: rollout.metadata.name,
      uid: rollout.metadata.uid,
      prev: rollout.status ?? {},
      next,
      spec,
      now,
    });
    const steps = settings?.steps ?? this.o.steps;
    const wanted = settings?.receivers;
    for (const notice of notices) {
      if (notice.kind === 'step' && !steps) continue;
      if (!this.firstTime(notice.id)) continue;
      for (const [receiver, queue] of this.queues) {
        if (!wanted || wanted.includes(receiver)) queue.push({ notice });
      }
    }
  }

  /** Gives queued messages up to `graceMs` to go out, then stops. */
  async close(graceMs: number): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close(graceMs)));
  }

  /** Resolves when every queue is empty and idle (for tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.idle()));
  }

  private firstTime(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > REMEMBERED) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }

  private queueFor(
    receiver: NotificationReceiver,
    url: () => Promise<string | undefined>,
  ): DeliveryQueue<Item> {
    const { logger, metrics } = this.o;
    const post = this.o.post ?? postJson;
    const fields = (n: Notice): Record<string, unknown> => ({
      receiver,
      kind: n.kind,
      rollout: n.name,
      namespace: n.namespace,
      revision: n.revision,
    });
    return new DeliveryQueue<Item>({
      capacity: this.o.queueSize,
      maxAttempts: this.o.maxAttempts,
      backoff: this.o.backoff,
      ...(this.o.sleep ? { sleep: this.o.sleep } : {}),
      ...(this.o.random ? { random: this.o.random } : {}),
      send: async ({ notice }, signal) => {
        const target = await url();
        if (!target)
          return { ok: false, retry: false, code: 'no-url', error: 'no http(s) URL in its file' };
        const payload = payloadFor(receiver, notice, this.o.dashboardUrl);
        return post(
          target,
          JSON.stringify(payload.body),
          payload.contentType,
          this.o.timeoutMs,
          signal,
        );
      },
      attempted: ({ notice }, a, attempt) => {
        metrics?.request(receiver, a.code);
        if (!a.ok)
          logger.debug('notification attempt failed', {
            ...fields(notice),
            attempt,
            error: a.error,
          });
      },
      delivered: ({ notice }, attempts) => {
        metrics?.result(receiver, notice.kind, 'delivered');
        logger.debug('notification delivered', { ...fields(notice), attempts });
      },
      failed: ({ notice }, error, attempts) => {
        metrics?.result(receiver, notice.kind, 'failed');
        logger.warn('notification not delivered', { ...fields(notice), attempts, error });
      },
      dropped: ({ notice }, why) => {
        metrics?.result(receiver, notice.kind, 'dropped');
        logger.warn('notification dropped', {
          ...fields(notice),
          why: why === 'full' ? `queue full (${this.o.queueSize} waiting)` : 'controller stopping',
        });
      },
      depth: (d) => metrics?.depth(receiver, d),
    });
  }
}

/**
 * The receivers whose URL file exists in `dir` (the mounted Secret's keys `slack`, `teams`,
 * `webhook`), each as a reader of its URL. A URL that is not http(s) reads as missing.
 */
export function receiversIn(
  dir: string | undefined,
): Partial<Record<NotificationReceiver, () => Promise<string | undefined>>> {
  const out: Partial<Record<NotificationReceiver, () => Promise<string | undefined>>> = {};
  if (!dir) return out;
  for (const r of NOTIFICATION_RECEIVERS) {
    const file = join(dir, r);
    // The Secret's keys that exist and hold something; the others are not configured.
    if ((statSync(file, { throwIfNoEntry: false })?.size ?? 0) === 0) continue;
    out[r] = async () => {
      try {
        return httpUrl((await readFile(file, 'utf8')).trim());
      } catch {
        return undefined;
      }
    };
  }
  return out;
}

function httpUrl(raw: string): string | undefined {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** The controller's flags that configure notifications. */
export interface NotifyFlags {
  'notifications-dir': string | undefined;
  'notify-by-default': boolean;
  'notify-steps': boolean;
  'dashboard-url': string | undefined;
  'notify-timeout': number;
  'notify-attempts': number;
  'notify-backoff': number;
  'notify-queue-size': number;
}

/** The notifier the flags describe; one without receivers sends nothing. */
export function notifierFromFlags(
  flags: NotifyFlags,
  logger: Logger,
  metrics: NotifierMetrics | undefined,
): Notifier {
  const n = new Notifier({
    receivers: receiversIn(flags['notifications-dir']),
    defaultEnabled: flags['notify-by-default'],
    steps: flags['notify-steps'],
    dashboardUrl: flags['dashboard-url'],
    queueSize: flags['notify-queue-size'],
    maxAttempts: flags['notify-attempts'],
    timeoutMs: flags['notify-timeout'],
    backoff: { initialMs: flags['notify-backoff'], maxMs: 30_000 },
    logger,
    metrics,
  });
  logger.info('notifications', {
    receivers: n.receivers.length > 0 ? n.receivers : '(none)',
    byDefault: flags['notify-by-default'],
    steps: flags['notify-steps'],
  });
  return n;
}
