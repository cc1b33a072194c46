// A scriptable stand-in for the Kubernetes API server, for tests of the REST client and
// the informer: a real HTTP server on a free port that records every request, answers
// with handlers the test registers, and holds watch streams open for the test to feed.
// Not exported from the package index.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface ApiRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client's port: equal for requests that shared a kept-alive connection. */
  remotePort: number | undefined;
}

export type ApiHandler = (req: ApiRequest, res: http.ServerResponse) => void;

/** An open watch response: the test sends events and decides when it ends. */
export class WatchStream {
  constructor(
    readonly request: ApiRequest,
    private readonly res: http.ServerResponse,
  ) {}

  send(type: string, object: unknown): void {
    this.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  /** Writes raw bytes (for broken lines). */
  write(text: string): void {
    this.res.write(text);
  }

  end(): void {
    this.res.end();
  }

  /** Resolves when the client has gone (aborted) or the stream was ended. */
  get closed(): Promise<void> {
    if (this.res.closed) return Promise.resolve();
    return new Promise((resolve) => this.res.once('close', () => resolve()));
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

/** A Kubernetes Status body, as the API server sends with error answers. */
export function statusBody(code: number, reason: string, message: string): unknown {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message };
}

export class FakeApiServer {
  readonly requests: ApiRequest[] = [];
  private readonly handlers: { match: (r: ApiRequest) => boolean; handle: ApiHandler }[] = [];
  private readonly watchQueue: WatchStream[] = [];
  private readonly watchWaiters: ((w: WatchStream) => void)[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeApiServer> {
    const ref: { self?: FakeApiServer } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => ref.self?.dispatch(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ref.self = new FakeApiServer(server, `http://127.0.0.1:${port}`);
    return ref.self;
  }

  /**
   * A KubeConfig for this server with a bearer token. The server is plain HTTP, so, as
   * for `kubectl proxy`, there are no TLS settings (insecure-skip-tls-verify is false).
   */
  kubeConfig(token = 't'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: this.url, skipTLSVerify: false }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }

  /** Handles matching requests; the handler registered last wins. */
  on(match: (r: ApiRequest) => boolean, handle: ApiHandler): void {
    this.handlers.unshift({ match, handle });
  }

  /** Holds matching watch requests open as WatchStreams (see nextWatch). */
  streamWatches(match: (r: ApiRequest) => boolean = () => true): void {
    this.on(
      (r) => r.query.get('watch') === 'true' && match(r),
      (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        const w = new WatchStream(req, res);
        const waiter = this.watchWaiters.shift();
        if (waiter) waiter(w);
        else this.watchQueue.push(w);
      },
    );
  }

  /** The next watch request streamWatches held open. */
  nextWatch(): Promise<WatchStream> {
    const w = this.watchQueue.shift();
    if (w) return Promise.resolve(w);
    return new Promise((resolve) => this.watchWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', this.url);
    const r: ApiRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      remotePort: req.socket.remotePort,
    };
    this.requests.push(r);
    const h = this.handlers.find((x) => x.match(r));
    if (h) h.handle(r, res);
    else sendJson(res, 404, statusBody(404, 'NotFound', `${r.path} not found`));
  }
}
