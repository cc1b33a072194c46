// The Events of the Rollouts someone is looking at: one informer per open Rollout page,
// started with the first viewer and stopped with the last. Events the user may not read
// are reported as such; the rest of the page works without them.

import { Informer, ROLLOUT, errorMessage, resourcePath, silentLogger } from '@steerer/common';
import type { EventObject } from '@steerer/common';
import type { ClusterAccess } from './access.js';

export type EventsListener = (events: EventObject[], error: string | undefined) => void;

interface Watched {
  informer: Informer<EventObject>;
  stop: AbortController;
  listeners: Set<EventsListener>;
  error: string | undefined;
}

/** What the HTTP server needs of Events (EventsHub; a fake in tests). */
export interface EventsSource {
  /** Calls `listener` with the Rollout's Events now (once known) and on every change. */
  subscribe(namespace: string, name: string, listener: EventsListener): () => void;
}

export class EventsHub implements EventsSource {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly access: ClusterAccess) {}

  /** Calls `listener` with the Rollout's Events now (once known) and on every change. */
  subscribe(namespace: string, name: string, listener: EventsListener): () => void {
    const key = `${namespace}/${name}`;
    let w = this.watched.get(key);
    if (!w) {
      w = this.start(namespace, name);
      this.watched.set(key, w);
    }
    const watched = w;
    watched.listeners.add(listener);
    if (watched.informer.hasSynced() || watched.error) {
      listener(watched.informer.list(), watched.error);
    }
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size > 0) return;
      watched.stop.abort();
      this.watched.delete(key);
    };
  }

  private start(namespace: string, name: string): Watched {
    const path = resourcePath({ group: '', version: 'v1', plural: 'events', namespace });
    const fieldSelector = `involvedObject.kind=${ROLLOUT.kind},involvedObject.name=${name}`;
    const informer = new Informer<EventObject>(this.access.client, {
      path,
      fieldSelector,
      logger: silentLogger,
    });
    const w: Watched = {
      informer,
      stop: new AbortController(),
      listeners: new Set(),
      error: undefined,
    };
    const emit = (): void => {
      for (const l of w.listeners) l(informer.list(), w.error);
    };
    informer.on(() => {
      if (informer.hasSynced()) emit();
    });
    void (async () => {
      // One list first: without permission to read Events the page says so instead of waiting.
      try {
        await this.access.client.list(path, {
          query: { fieldSelector, limit: 1 },
          signal: w.stop.signal,
        });
      } catch (e) {
        if (w.stop.signal.aborted) return;
        w.error = this.access.describe(e, {
          verb: 'list',
          resource: 'events',
          kind: 'event',
          namespace,
        });
        emit();
        return;
      }
      void informer.waitForSync(w.stop.signal).then((ok) => ok && emit());
      await informer.run(w.stop.signal);
    })().catch((e: unknown) => {
      w.error = errorMessage(e);
      emit();
    });
    return w;
  }

  close(): void {
    for (const w of this.watched.values()) w.stop.abort();
    this.watched.clear();
  }
}
