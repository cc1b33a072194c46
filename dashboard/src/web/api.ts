// The page's side of the dashboard's HTTP API: typed server-sent event streams (the browser's
// EventSource reconnects by itself), the timeline, and manual requests. Every failure is an
// answer with a sentence, never an exception the page has to catch.

import { CSRF_HEADER } from '../shared/api.js';
import type { ErrorAnswer, RequestAnswer, Timeline } from '../shared/api.js';
import type { Request } from '@steerer/common/model';

export type Handlers<E> = { [K in keyof E]?: (data: E[K]) => void };

export interface Live {
  close(): void;
}

/**
 * Opens a stream of named events; `onState(true)` once connected, `onState(false)` while the
 * browser reconnects (after the server restarted, or the network dropped).
 */
export function listen<E>(
  url: string,
  handlers: Handlers<E>,
  onState: (open: boolean) => void,
): Live {
  const source = new EventSource(url);
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  for (const [event, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') continue;
    const call = handler as (data: unknown) => void;
    source.addEventListener(event, (e) => {
      const text = (e as MessageEvent<string>).data;
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        return;
      }
      call(data);
    });
  }
  return { close: () => source.close() };
}

export function rolloutPath(namespace: string, name: string, what: string): string {
  return `/api/rollouts/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${what}`;
}

export type Answer<T> = { ok: true; value: T } | { ok: false; status: number; error: string };

function isErrorAnswer(body: unknown): body is ErrorAnswer {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { error?: unknown }).error === 'string'
  );
}

async function call<T>(url: string, init?: RequestInit): Promise<Answer<T>> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      status: 0,
      error: `the dashboard's server did not answer (${reason}): is it still running?`,
    };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return {
      ok: false,
      status: res.status,
      error: `the dashboard's server answered HTTP ${res.status} without JSON`,
    };
  }
  if (!res.ok) {
    return {
      ok: false,
      status: res.status,
      error: isErrorAnswer(body) ? body.error : `HTTP ${res.status}`,
    };
  }
  return { ok: true, value: body as T };
}

export function getTimeline(
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<Answer<Timeline>> {
  return call<Timeline>(rolloutPath(namespace, name, 'timeline'), { signal });
}

export function sendRequest(
  namespace: string,
  name: string,
  request: Request,
): Promise<Answer<RequestAnswer>> {
  return call<RequestAnswer>(rolloutPath(namespace, name, 'request'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', [CSRF_HEADER]: '1' },
    body: JSON.stringify({ request }),
  });
}
