// A thin Kubernetes REST client over KubeCredentials (kubeconfig.ts: kubeconfig files and
// in-cluster service accounts read directly, client-node's KubeConfig for auth plugins).
//
// Why not client-node's generated APIs: they build a new HTTPS agent for every call (a
// TLS handshake per request), and we want one keep-alive connection pool, typed errors
// with the HTTP status, a per-verb request count for metrics, and JSON/merge patches on
// custom resources without per-call middleware.

import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { FIELD_MANAGER } from '../model/names.js';
import { ErrorCode, SteererError, errorMessage, toError } from '../model/errors.js';
import type { KubeCredentials } from './kubeconfig.js';

export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;
export type Verb = (typeof VERBS)[number];

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface RequestRecord {
  verb: Verb;
  /** The resource plural (deployments, rollouts, events, …), with subresource if any. */
  resource: string;
  /** HTTP status, or 0 when no response arrived. */
  code: number;
  durationMs: number;
}

export interface KubeClientOptions {
  userAgent?: string;
  /** Default deadline of non-watch requests. */
  timeoutMs?: number;
  /** Extra headers on every request (e.g. Impersonate-User in tests). */
  headers?: Record<string, string>;
  onRequest?: (record: RequestRecord) => void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  patchType?: PatchType;
  signal?: AbortSignal;
  timeoutMs?: number;
}

interface Connection {
  server: URL;
  agent: http.Agent;
  headers: Record<string, string>;
  refreshedAt: number;
}

const AUTH_REFRESH_MS = 60_000;

/** `/api/v1/...` or `/apis/group/version/...` for a resource. */
export function resourcePath(p: {
  group: string;
  version: string;
  plural: string;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string;
}): string {
  const base = p.group === '' ? `/api/${p.version}` : `/apis/${p.group}/${p.version}`;
  const ns = p.namespace ? `/namespaces/${encodeURIComponent(p.namespace)}` : '';
  const name = p.name ? `/${encodeURIComponent(p.name)}` : '';
  const sub = p.subresource && p.name ? `/${p.subresource}` : '';
  return `${base}${ns}/${p.plural}${name}${sub}`;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Guesses the resource (plural[/subresource]) of a path, for request metrics. */
export function resourceOfPath(path: string): string {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  // /api/v1[/namespaces/ns]/plural[/name[/sub]]  or  /apis/g/v[/namespaces/ns]/plural[/name[/sub]]
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  // namespaces/<ns>/<plural>..., except the Namespace's own subresources.
  const namespaceSub = rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2] as string);
  if (rest[0] === 'namespaces' && rest.length > 2 && !namespaceSub) rest = rest.slice(2);
  const [plural, , sub] = rest;
  return sub ? `${plural}/${sub}` : (plural ?? 'unknown');
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

function parseStatus(text: string): StatusBody | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The KubeConfig to read credentials from for `cluster`. client-node's applyToHTTPSOptions
 * refuses an http:// server unless the kubeconfig also says insecure-skip-tls-verify (it
 * builds a TLS agent, which we never use), while kubectl talks to one as it is: `kubectl
 * proxy` serves http://127.0.0.1:8001. Over plain HTTP there is no TLS to verify, so for
 * such a server credentials are read through a view of the kubeconfig whose current
 * cluster says so; all else (users, auth plugins and their token caches) is the original.
 */
function credentialSource(
  kc: KubeCredentials,
  cluster: { readonly server: string },
): KubeCredentials {
  if (new URL(cluster.server).protocol !== 'http:') return kc;
  const plain = { ...cluster, skipTLSVerify: true };
  return Object.create(kc, { getCurrentCluster: { value: () => plain } }) as KubeCredentials;
}

interface AbortFanOut {
  listener: () => void;
  callbacks: Set<() => void>;
}

const abortFanOuts = new WeakMap<AbortSignal, AbortFanOut>();

/**
 * Calls `onAbort` once when `signal` aborts (at once if it already has). Returns a function
 * that cancels the call: call it when the operation the signal could abort has ended.
 *
 * Every operation waiting on one signal shares a single 'abort' listener on it, added with
 * the first and removed with the last. A process hands one long-lived signal to everything
 * it runs (informers with their lists, watches and sleeps, leader election, …): a listener
 * each would pass Node's limit of 10 and print MaxListenersExceededWarning, and any left
 * behind would leak. (Not `AbortSignal.any`: on Node 20 each call leaves an entry on its
 * source signals that is never removed, so a derived signal per watch grows the root.)
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  if (signal.aborted) {
    onAbort();
    return () => undefined;
  }
  let fan = abortFanOuts.get(signal);
  if (!fan) {
    const callbacks = new Set<() => void>();
    const listener = (): void => {
      abortFanOuts.delete(signal);
      let failure: { error: unknown } | undefined;
      for (const callback of callbacks) {
        try {
          callback();
        } catch (e) {
          failure ??= { error: e };
        }
      }
      callbacks.clear();
      // As an abort listener's own exception would be: reported, after the others ran.
      if (failure) throw failure.error;
    };
    fan = { listener, callbacks };
    abortFanOuts.set(signal, fan);
    signal.addEventListener('abort', listener, { once: true });
  }
  const own = fan;
  // A wrapper per call, so that the same function registered twice is two registrations.
  const entry = (): void => onAbort();
  own.callbacks.add(entry);
  return () => {
    if (!own.callbacks.delete(entry) || own.callbacks.size > 0) return;
    if (abortFanOuts.get(signal) === own) abortFanOuts.delete(signal);
    signal.removeEventListener('abort', own.listener);
  };
}

export class KubeClient {
  private conn: Connection | undefined;
  private refreshing: Promise<Connection> | undefined;

  constructor(
    private readonly kc: KubeCredentials,
    private readonly options: KubeClientOptions = {},
  ) {}

  /** The API server URL this client talks to. */
  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? '';
  }

  private async connection(): Promise<Connection> {
    const now = Date.now();
    if (this.conn && now - this.conn.refreshedAt < AUTH_REFRESH_MS) return this.conn;
    this.refreshing ??= this.connect().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async connect(): Promise<Connection> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new SteererError(ErrorCode.Invalid, 'kubeconfig has no current cluster');
    const opts: https.RequestOptions = {};
    await credentialSource(this.kc, cluster).applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (typeof v === 'string' || typeof v === 'number') headers[k] = String(v);
    }
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const server = new URL(cluster.server);
    // Keep one pool for the client's lifetime; only credentials are refreshed.
    let agent = this.conn?.agent;
    if (!agent) {
      agent =
        server.protocol === 'http:'
          ? new http.Agent({ keepAlive: true, maxSockets: 32 })
          : new https.Agent({
              keepAlive: true,
              maxSockets: 32,
              ca: opts.ca,
              cert: opts.cert,
              key: opts.key,
              rejectUnauthorized: opts.rejectUnauthorized,
              servername: opts.servername,
            });
    }
    this.conn = { server, agent, headers, refreshedAt: Date.now() };
    return this.conn;
  }

  /** Releases pooled connections. */
  close(): void {
    this.conn?.agent.destroy();
    this.conn = undefined;
  }

  /** The URL, headers and body of a request. */
  private prepare(
    conn: Connection,
    path: string,
    opts: RequestOptions,
  ): { url: URL; headers: Record<string, string>; payload: string | undefined } {
    const url = new URL(path, conn.server);
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      ...conn.headers,
      ...this.options.headers,
      Accept: 'application/json',
      'User-Agent': this.options.userAgent ?? 'steerer',
    };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['Content-Type'] = opts.patchType
        ? PATCH_CONTENT_TYPE[opts.patchType]
        : 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    return { url, headers, payload };
  }

  private async send(
    verb: Verb,
    method: string,
    path: string,
    opts: RequestOptions,
    onResponse: (res: http.IncomingMessage) => Promise<unknown>,
  ): Promise<unknown> {
    const conn = await this.connection();
    const { url, headers, payload } = this.prepare(conn, path, opts);
    const started = performance.now();
    const resource = resourceOfPath(path);
    let code = 0;
    const timeoutMs =
      verb === 'watch' ? undefined : (opts.timeoutMs ?? this.options.timeoutMs ?? 30_000);
    // Not http.request's `signal` option: that adds a listener per request to the
    // caller's (usually process-wide) signal. See whenAborted.
    let unlinkAbort = (): void => undefined;
    try {
      return await new Promise<unknown>((resolve, reject) => {
        let timedOut: SteererError | undefined;
        const mapError = (e: unknown): SteererError => {
          if (timedOut) return timedOut;
          if (opts.signal?.aborted) {
            return new SteererError(ErrorCode.Aborted, `${method} ${path}: aborted`, { cause: e });
          }
          if (e instanceof SteererError) return e;
          return new SteererError(ErrorCode.Network, `${method} ${path}: ${errorMessage(e)}`, {
            cause: e,
          });
        };
        const signal = opts.signal;
        if (signal?.aborted) {
          reject(mapError(signal.reason));
          return;
        }
        const lib = url.protocol === 'http:' ? http : https;
        const req = lib.request(url, { method, headers, agent: conn.agent }, (res) => {
          code = res.statusCode ?? 0;
          // onResponse's own errors pass through (a watch handler's error must reach
          // the informer as thrown), unless our deadline or the caller ended the request.
          onResponse(res).then(resolve, (e: unknown) =>
            reject(timedOut ?? (opts.signal?.aborted ? mapError(e) : toError(e))),
          );
        });
        if (timeoutMs !== undefined) {
          req.setTimeout(timeoutMs, () => {
            timedOut = new SteererError(
              ErrorCode.Timeout,
              `${method} ${path}: no answer within ${timeoutMs}ms`,
            );
            req.destroy(timedOut);
          });
        }
        req.on('error', (e) => reject(mapError(e)));
        if (signal) {
          unlinkAbort = whenAborted(signal, () =>
            req.destroy(
              new SteererError(ErrorCode.Aborted, `${method} ${path}: aborted`, {
                cause: signal.reason,
              }),
            ),
          );
        }
        req.end(payload);
      });
    } finally {
      // The request (for a watch, its whole stream) has ended: drop its abort callback.
      unlinkAbort();
      this.options.onRequest?.({ verb, resource, code, durationMs: performance.now() - started });
    }
  }

  /** Any non-watch request; resolves to the parsed JSON body, rejects with SteererError. */
  async request<T>(
    verb: Exclude<Verb, 'watch'>,
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<T> {
    const result = await this.send(verb, method, path, opts, async (res) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of res) chunks.push(chunk as Buffer);
      } catch (e) {
        throw new SteererError(ErrorCode.Network, `${method} ${path}: answer broke off`, {
          cause: e,
        });
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300)
        throw apiError(method, path, status, text, res.headers['retry-after']);
      try {
        return text ? (JSON.parse(text) as unknown) : undefined;
      } catch (e) {
        throw new SteererError(ErrorCode.BadResponse, `${method} ${path}: answer is not JSON`, {
          cause: e,
        });
      }
    });
    return result as T;
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('get', 'GET', path, opts);
  }
  list<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('list', 'GET', path, opts);
  }
  create<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('create', 'POST', path, {
      ...opts,
      body,
      query: { fieldManager: FIELD_MANAGER, ...opts?.query },
    });
  }
  replace<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.request<T>('update', 'PUT', path, {
      ...opts,
      body,
      query: { fieldManager: FIELD_MANAGER, ...opts?.query },
    });
  }
  patch<T>(path: string, patchType: PatchType, body: unknown, opts?: RequestOptions): Promise<T> {
    const query =
      patchType === 'apply'
        ? { fieldManager: FIELD_MANAGER, force: 'true', ...opts?.query }
        : opts?.query;
    return this.request<T>('patch', 'PATCH', path, {
      ...opts,
      body,
      patchType,
      query: { fieldManager: FIELD_MANAGER, ...query },
    });
  }
  delete<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.request<T>('delete', 'DELETE', path, opts);
  }

  /**
   * Streams a watch: calls `onEvent` for each JSON line until the server ends the stream
   * (resolves) or it fails (rejects). Abort `signal` to stop.
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: { type: string; object: unknown }) => void,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      await this.watchStream(path, query, onEvent, signal);
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
  }

  private async watchStream(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: { type: string; object: unknown }) => void,
    signal: AbortSignal,
  ): Promise<void> {
    await this.send(
      'watch',
      'GET',
      path,
      { query: { ...query, watch: 'true' }, signal },
      async (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          for await (const chunk of res) chunks.push(chunk as Buffer);
          throw apiError(
            'WATCH',
            path,
            status,
            Buffer.concat(chunks).toString('utf8'),
            res.headers['retry-after'],
          );
        }
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        let handlerError: { error: unknown } | undefined;
        try {
          for await (const line of lines) {
            if (!line) continue;
            let parsed: unknown;
            try {
              parsed = JSON.parse(line);
            } catch (e) {
              throw new SteererError(ErrorCode.BadResponse, `WATCH ${path}: bad event line`, {
                cause: e,
              });
            }
            const ev = parsed as { type?: unknown; object?: unknown };
            if (typeof ev.type !== 'string') continue;
            try {
              onEvent({ type: ev.type, object: ev.object });
            } catch (e) {
              // The handler's own failure (e.g. a 410 ERROR event) ends the watch as-is.
              handlerError = { error: e };
              break;
            }
          }
        } catch (e) {
          if (signal.aborted) return undefined;
          if (e instanceof SteererError) throw e;
          throw new SteererError(
            ErrorCode.Network,
            `WATCH ${path}: stream broke: ${errorMessage(e)}`,
            { cause: e },
          );
        } finally {
          lines.close();
          // Unless the server ended the stream, drop the connection: a half-read response
          // would otherwise hold one of the pool's sockets forever.
          if (!res.complete) res.destroy();
        }
        if (handlerError) {
          throw handlerError.error;
        }
        return undefined;
      },
    );
  }
}

function apiError(
  method: string,
  path: string,
  status: number,
  text: string,
  retryAfter: string | string[] | undefined,
): SteererError {
  const body = parseStatus(text);
  const reason = body?.reason;
  const detail = body?.message ?? (text.slice(0, 300) || 'no details');
  const ra = typeof retryAfter === 'string' ? Number(retryAfter) : undefined;
  return new SteererError(
    ErrorCode.Api,
    `${method} ${path}: HTTP ${status}${reason ? ` ${reason}` : ''}: ${detail}`,
    {
      status,
      ...(reason ? { reason } : {}),
      ...(ra !== undefined && Number.isFinite(ra) ? { retryAfterSeconds: ra } : {}),
    },
  );
}
