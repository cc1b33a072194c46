// A test HTTP receiver for lifecycle webhooks and notifications: a real node:http server on
// loopback that records every request (method, path, headers, JSON body, arrival time) and
// answers each path as the test tells it: 200, a failure status, never (hang until closed),
// slowly, or by a switch the test flips (a confirm-promotion gate that says no until yes).
//
//   const receiver = await Receiver.start();
//   receiver.setBehaviour('/confirm', { kind: 'switch', on: false });
//   ... receiver.url('/confirm') goes into a Rollout's spec ...
//   await receiver.waitFor((all) => all.some((r) => r.path === '/confirm'), 30_000);
//   receiver.flip('/confirm', true);
//   await receiver.close();

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the receiver answers a path. */
export type Behaviour =
  /** Answer `status` (default 200) with `body` (default `{"ok":true}`) at once. */
  | { kind: 'ok'; status?: number; body?: unknown }
  /** Answer a failure `status` (e.g. 500, 503, 403) with `body`. */
  | { kind: 'fail'; status: number; body?: unknown }
  /** Never answer: the request stays open until the client gives up or close(). */
  | { kind: 'hang' }
  /** Answer `status` (default 200) after `delayMs`. */
  | { kind: 'slow'; delayMs: number; status?: number }
  /** Answer `onStatus` (default 200) while on, `offStatus` (default 403) while off; flip(). */
  | { kind: 'switch'; on: boolean; onStatus?: number; offStatus?: number }
  /** Fail with `status` the first `times` requests, then answer 200. */
  | { kind: 'fail-times'; times: number; status: number };

export interface RecordedRequest {
  /** Sequence number, from 0, in arrival order across all paths. */
  seq: number;
  method: string;
  /** The path without the query string. */
  path: string;
  query: string;
  headers: Readonly<Record<string, string>>;
  /** The body as text (bodies over 1 MiB are cut). */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** Arrival time, ms since the epoch (when the body was complete). */
  at: number;
  /** The status answered, or undefined while unanswered (hanging, slow) or dropped. */
  status?: number;
}

export type Probe<T> = (requests: readonly RecordedRequest[]) => T | undefined | false;

const MAX_BODY = 1024 * 1024;

export class Receiver {
  private readonly recorded: RecordedRequest[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly failCounts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners = new Set<() => void>();
  private defaultBehaviour: Behaviour = { kind: 'ok' };
  private closed = false;

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>`, no trailing slash. */
    readonly baseUrl: string,
  ) {}

  /** Starts a receiver on 127.0.0.1 (a random free port unless `port` is given). */
  static async start(options: { port?: number; host?: string } = {}): Promise<Receiver> {
    const host = options.host ?? '127.0.0.1';
    const holder: { receiver?: Receiver } = {};
    const server = createServer((req, res) => holder.receiver?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const r = new Receiver(server, `http://${host}:${port}`);
    holder.receiver = r;
    server.on('connection', (socket) => {
      r.sockets.add(socket);
      socket.once('close', () => r.sockets.delete(socket));
    });
    return r;
  }

  /** The absolute URL of `path` on this receiver. */
  url(path: string): string {
    return `${this.baseUrl}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Sets how `path` (exact match, no query) is answered from now on. */
  setBehaviour(path: string, behaviour: Behaviour): void {
    this.behaviours.set(path, behaviour);
    this.failCounts.delete(path);
  }

  /** Sets how paths without their own behaviour are answered (initially 200). */
  setDefaultBehaviour(behaviour: Behaviour): void {
    this.defaultBehaviour = behaviour;
  }

  /** Flips a `switch` path on or off (makes it a switch if it was not one). */
  flip(path: string, on: boolean): void {
    const b = this.behaviours.get(path);
    this.behaviours.set(path, b?.kind === 'switch' ? { ...b, on } : { kind: 'switch', on: on });
  }

  /** Requests received so far, in arrival order; only those to `path` when given. */
  requests(path?: string): RecordedRequest[] {
    return path === undefined ? [...this.recorded] : this.recorded.filter((r) => r.path === path);
  }

  /** Forgets the requests recorded so far (behaviours stay). */
  clear(): void {
    this.recorded.length = 0;
  }

  /**
   * Resolves with the probe's first truthy answer over all requests recorded so far; checked
   * now and whenever a request arrives or is answered. Rejects after `timeoutMs` with
   * `what` and the paths seen so far.
   */
  waitFor<T>(probe: Probe<T>, timeoutMs: number, what = 'receiver condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        const value = probe(this.recorded);
        if (value === undefined || value === false) return false;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        const seen = this.recorded.map((r) => `${r.method} ${r.path} → ${r.status ?? '…'}`);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; ${seen.length} requests: ${seen.slice(-20).join(', ')}`,
          ),
        );
      }, timeoutMs);
      if (!check()) this.listeners.add(check);
    });
  }

  /** Stops listening and drops every open connection (hanging requests included). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await done;
  }

  private notify(): void {
    for (const check of [...this.listeners]) check();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => this.record(req, res, Buffer.concat(chunks).toString('utf8')));
  }

  private record(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const entry: RecordedRequest = {
      seq: this.recorded.length,
      method: req.method ?? 'GET',
      path: q === -1 ? url : url.slice(0, q),
      query: q === -1 ? '' : url.slice(q + 1),
      headers,
      text,
      json,
      at: Date.now(),
    };
    this.recorded.push(entry);
    this.answer(entry, res);
    this.notify();
  }

  private answer(entry: RecordedRequest, res: ServerResponse): void {
    const b = this.behaviours.get(entry.path) ?? this.defaultBehaviour;
    const reply = (status: number, body: unknown = { ok: status < 300 }): void => {
      if (this.closed || res.destroyed) return;
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
      this.notify();
    };
    switch (b.kind) {
      case 'ok':
        return reply(b.status ?? 200, b.body);
      case 'fail':
        return reply(b.status, b.body ?? { error: `told to fail with ${b.status}` });
      case 'hang':
        return; // never answered; close() drops the connection
      case 'slow': {
        const t = setTimeout(() => {
          this.timers.delete(t);
          reply(b.status ?? 200);
        }, b.delayMs);
        this.timers.add(t);
        return;
      }
      case 'switch':
        return reply(b.on ? (b.onStatus ?? 200) : (b.offStatus ?? 403));
      case 'fail-times': {
        const n = this.failCounts.get(entry.path) ?? 0;
        this.failCounts.set(entry.path, n + 1);
        return n < b.times ? reply(b.status) : reply(200);
      }
    }
  }
}
