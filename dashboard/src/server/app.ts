// The dashboard's HTTP server: the page (dist/public), two live streams (every Rollout; one
// Rollout with its Events), a release's timeline from Prometheus, and manual requests.
// Bound to loopback; it answers only requests addressed to it by a loopback name (no DNS
// rebinding), and a state-changing request must carry a header no other site can set.

import type http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { SteererError, errorMessage, isJsonMap, parseRequest } from '@steerer/common';
import type { Logger } from '@steerer/common';
import { CSRF_HEADER } from '../shared/api.js';
import type { ErrorAnswer, OverviewEvents, RolloutEvents, Timeline } from '../shared/api.js';
import { viewOf } from '../shared/summary.js';
import type { ClusterAccess } from './access.js';
import type { EventsSource } from './events.js';
import type { RangeClient } from './prometheus.js';
import { carryOut } from './requests.js';
import type { RolloutSource } from './rollouts.js';
import { ROLLOUT_RESOURCE } from './rollouts.js';
import { openStream } from './sse.js';
import { loadTimeline } from './timeline.js';

export interface AppParts {
  hub: RolloutSource;
  events: EventsSource;
  access: ClusterAccess;
  prometheus: RangeClient;
  webDir: string;
  logger: Logger;
  now?: () => number;
  requestWaitMs?: number;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** The HTTP status behind a failed call: a SteererError's, or one a caller's error carries. */
export function httpStatusOf(e: unknown): number | undefined {
  if (e instanceof SteererError) return e.status;
  const status =
    typeof e === 'object' && e !== null ? (e as { status?: unknown }).status : undefined;
  return typeof status === 'number' ? status : undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(body));
}

function sendError(res: http.ServerResponse, status: number, error: string): void {
  const body: ErrorAnswer = { status, error };
  sendJson(res, status, body);
}

/** Whether the request was addressed to this server by a loopback name and its own port. */
export function loopbackHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}

async function readBody(req: http.IncomingMessage, limit = 4096): Promise<string> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > limit) throw new Error('body too large');
  }
  return text;
}

type Route =
  | { kind: 'static'; file: string }
  | { kind: 'overview' }
  | { kind: 'rollout'; what: 'stream' | 'timeline' | 'request'; namespace: string; name: string }
  | { kind: 'health' };

const NAME = '[a-z0-9]([-a-z0-9.]*[a-z0-9])?';
const ROLLOUT_PATH = new RegExp(`^/api/rollouts/(${NAME})/(${NAME})/(stream|timeline|request)$`);

export function route(path: string): Route | undefined {
  if (path === '/' || path === '/index.html') return { kind: 'static', file: 'index.html' };
  if (/^\/app\.(js|css|js\.map)$/.test(path)) return { kind: 'static', file: path.slice(1) };
  if (path === '/api/overview/stream') return { kind: 'overview' };
  if (path === '/api/healthz') return { kind: 'health' };
  const m = ROLLOUT_PATH.exec(path);
  if (m?.[1] && m[3] && m[5]) {
    return {
      kind: 'rollout',
      namespace: m[1],
      name: m[3],
      what: m[5] as 'stream' | 'timeline' | 'request',
    };
  }
  return undefined;
}

export class DashboardApp {
  constructor(private readonly parts: AppParts) {}

  handler = (req: http.IncomingMessage, res: http.ServerResponse, port: number): void => {
    this.handle(req, res, port).catch((e: unknown) => {
      this.parts.logger.error('request failed', { path: req.url, error: errorMessage(e) });
      if (!res.headersSent) sendError(res, 500, `the dashboard failed: ${errorMessage(e)}`);
      else res.end();
    });
  };

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    port: number,
  ): Promise<void> {
    if (!loopbackHost(req.headers.host, port)) {
      sendError(res, 421, 'this dashboard answers only on 127.0.0.1 or localhost');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const r = route(path);
    const method = req.method ?? 'GET';
    const wants = r?.kind === 'rollout' && r.what === 'request' ? 'POST' : 'GET';
    if (!r) return sendError(res, 404, `no such page: ${path}`);
    if (method !== wants) return sendError(res, 405, `${path} takes ${wants} only`);
    switch (r.kind) {
      case 'static':
        return this.serveStatic(res, r.file);
      case 'health':
        return sendJson(res, 200, { ok: true, synced: this.parts.hub.synced });
      case 'overview':
        return this.overview(req, res);
      case 'rollout':
        if (r.what === 'stream') return this.rolloutStream(req, res, r.namespace, r.name);
        if (r.what === 'timeline') return this.timeline(res, r.namespace, r.name);
        return this.request(req, res, r.namespace, r.name);
    }
  }

  private async serveStatic(res: http.ServerResponse, file: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(join(this.parts.webDir, file));
    } catch {
      return sendError(res, 404, `${file} is not built: run npm run build -w dashboard`);
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(body);
  }

  private overview(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { hub } = this.parts;
    const stream = openStream<OverviewEvents>(req, res);
    const snapshot = (): void =>
      stream.send('snapshot', { scope: hub.scope, rollouts: hub.list(), synced: hub.synced });
    snapshot();
    if (hub.trouble) stream.send('trouble', { message: hub.trouble });
    const off = hub.subscribeOverview({
      reset: snapshot,
      upsert: (s) => stream.send('upsert', s),
      remove: (namespace, name) => stream.send('remove', { namespace, name }),
      trouble: (message) => stream.send('trouble', { message }),
    });
    stream.onClose(off);
  }

  private rolloutStream(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    namespace: string,
    name: string,
  ): void {
    const { hub, events } = this.parts;
    const stream = openStream<RolloutEvents>(req, res);
    const gone = (message: string): void => stream.send('gone', { namespace, name, message });
    if (!hub.watches(namespace)) {
      gone(`this dashboard shows namespace ${hub.scope.namespace ?? ''} only`);
      return;
    }
    let sent = false;
    const show = (r: ReturnType<RolloutSource['get']>): void => {
      if (r) {
        sent = true;
        stream.send('rollout', viewOf(r));
      } else if (sent || hub.synced) {
        gone(
          `Rollout ${name} in namespace ${namespace} ${sent ? 'was deleted' : 'does not exist'}`,
        );
      }
    };
    const offRollout = hub.subscribeRollout(namespace, name, {
      rollout: show,
      trouble: (message) => stream.send('trouble', { message }),
    });
    const offSync = hub.subscribeOverview({
      reset: () => show(hub.get(namespace, name)),
      upsert: () => undefined,
      remove: () => undefined,
      trouble: () => undefined,
    });
    show(hub.get(namespace, name));
    if (hub.trouble) stream.send('trouble', { message: hub.trouble });
    const offEvents = events.subscribe(namespace, name, (list, error) =>
      stream.send('events', { events: list, error }),
    );
    stream.onClose(() => {
      offRollout();
      offSync();
      offEvents();
    });
  }

  private async timeline(res: http.ServerResponse, namespace: string, name: string): Promise<void> {
    const { hub, prometheus } = this.parts;
    const r = hub.get(namespace, name);
    if (!r) return sendError(res, 404, `Rollout ${name} in namespace ${namespace} does not exist`);
    const body: Timeline = await loadTimeline({
      rollout: viewOf(r),
      nowMs: (this.parts.now ?? Date.now)(),
      weights: hub.weightsOf(namespace, name),
      prometheus,
    });
    sendJson(res, 200, body);
  }

  private async request(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    namespace: string,
    name: string,
  ): Promise<void> {
    const { hub, access } = this.parts;
    if (
      req.headers[CSRF_HEADER] !== '1' ||
      !req.headers['content-type']?.startsWith('application/json')
    ) {
      return sendError(res, 403, `a request needs the ${CSRF_HEADER} header and a JSON body`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(req));
    } catch {
      return sendError(res, 400, 'the body is not JSON');
    }
    const raw = isJsonMap(parsed) ? parsed.request : undefined;
    const request = typeof raw === 'string' ? parseRequest(raw) : undefined;
    if (!request?.ok) {
      return sendError(res, 400, request?.message ?? 'the body must be {"request": "…"}');
    }
    try {
      const answer = await carryOut(
        hub,
        access,
        { namespace, name, request: request.request },
        this.parts.requestWaitMs,
      );
      sendJson(res, 200, answer);
    } catch (e) {
      const status = httpStatusOf(e) ?? 502;
      const op = {
        verb: 'patch' as const,
        resource: ROLLOUT_RESOURCE,
        kind: 'rollout',
        namespace,
        name,
      };
      sendError(res, status, access.describe(e, op));
    }
  }
}
