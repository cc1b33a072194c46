// Kubernetes Events on Rollouts, reason "Synced" from "steerer", as the seed shows them.
// A message that repeats the Rollout's previous event (a halt reported at every check,
// say) updates that Event's count instead of creating another one, as kubectl shows
// with "(x3 over 2m)"; anything in between starts a new Event, so the log reads in order.

import { hostname } from 'node:os';
import {
  EVENT_COMPONENT,
  EVENT_REASON,
  ROLLOUT_API_VERSION,
  errorMessage,
  isApiError,
  kubeTime,
  resourcePath,
} from '@steerer/common';
import type { EventObject, KubeClient, Logger, RolloutObject } from '@steerer/common';

/** The writes the recorder makes (a KubeClient; a fake in tests). */
export type EventWriter = Pick<KubeClient, 'create' | 'patch'>;

export interface EventSink {
  record(rollout: RolloutObject, type: 'Normal' | 'Warning', message: string): Promise<void>;
}

interface Seen {
  key: string;
  name: string;
  namespace: string;
  count: number;
  at: number;
}

const WINDOW_MS = 10 * 60_000;
const MAX_REMEMBERED = 20_000;

export class EventRecorder implements EventSink {
  private readonly seen = new Map<string, Seen>();
  private counter = 0;
  private readonly instance = hostname();

  constructor(
    private readonly client: EventWriter,
    private readonly logger: Logger,
    private readonly onRecord?: (type: 'Normal' | 'Warning') => void,
  ) {}

  async record(r: RolloutObject, type: 'Normal' | 'Warning', message: string): Promise<void> {
    const ns = r.metadata.namespace;
    const id = r.metadata.uid ?? `${ns}/${r.metadata.name}`;
    const key = `${type}\u0000${message}`;
    const now = new Date();
    const prev = this.seen.get(id);
    this.onRecord?.(type);
    try {
      if (prev?.key === key && now.getTime() - prev.at < WINDOW_MS) await this.repeat(prev, now);
      else
        await this.create(
          id,
          key,
          eventFor(r, type, message, this.nextName(r, now), now, this.instance),
          now,
        );
    } catch (e) {
      // The Event may have expired (1h TTL): forget it so the next one is created afresh.
      if (isApiError(e, 404)) this.seen.delete(id);
      this.logger.warn('could not record event', {
        rollout: r.metadata.name,
        namespace: ns,
        message,
        error: errorMessage(e),
      });
    }
  }

  /** Names sort by creation order, which keeps same-second events in order. */
  private nextName(r: RolloutObject, now: Date): string {
    const suffix = (
      BigInt(now.getTime()) * 1_000_000n +
      BigInt(this.counter++ % 1_000_000)
    ).toString(16);
    return `${r.metadata.name}.${suffix}`;
  }

  /** The same message again: count it on the Event already there. */
  private async repeat(prev: Seen, now: Date): Promise<void> {
    prev.count++;
    prev.at = now.getTime();
    await this.client.patch(
      resourcePath({
        group: '',
        version: 'v1',
        plural: 'events',
        namespace: prev.namespace,
        name: prev.name,
      }),
      'merge',
      { count: prev.count, lastTimestamp: kubeTime(now) },
    );
  }

  private async create(id: string, key: string, event: EventObject, now: Date): Promise<void> {
    const namespace = event.metadata.namespace ?? '';
    await this.client.create(
      resourcePath({ group: '', version: 'v1', plural: 'events', namespace }),
      event,
    );
    // Re-inserted, so the oldest Rollout is the first to be forgotten.
    this.seen.delete(id);
    this.seen.set(id, {
      key,
      name: event.metadata.name,
      namespace,
      count: 1,
      at: now.getTime(),
    });
    if (this.seen.size > MAX_REMEMBERED) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

/** A new core/v1 Event on the Rollout, as `kubectl describe` shows them. */
export function eventFor(
  r: RolloutObject,
  type: 'Normal' | 'Warning',
  message: string,
  name: string,
  now: Date,
  instance: string,
): EventObject {
  const ts = kubeTime(now);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: r.metadata.namespace },
    involvedObject: {
      apiVersion: r.apiVersion ?? ROLLOUT_API_VERSION,
      kind: 'Rollout',
      name: r.metadata.name,
      namespace: r.metadata.namespace,
      ...(r.metadata.uid ? { uid: r.metadata.uid } : {}),
      ...(r.metadata.resourceVersion ? { resourceVersion: r.metadata.resourceVersion } : {}),
    },
    reason: EVENT_REASON,
    message,
    type,
    source: { component: EVENT_COMPONENT },
    count: 1,
    firstTimestamp: ts,
    lastTimestamp: ts,
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: instance,
  };
}
