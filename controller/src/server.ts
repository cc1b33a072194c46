// /metrics, /healthz and /readyz for the controller (plain HTTP, no framework needed).

import http from 'node:http';
import type { Registry } from 'prom-client';

export interface ProbeServerOptions {
  registry: Registry;
  /** Ready when informers have synced and this replica leads (or stands by healthily). */
  ready: () => boolean;
  healthy: () => boolean;
}

export function createProbeServer(o: ProbeServerOptions): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const reply = (code: number, body: string, type = 'text/plain'): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, 'method not allowed\n');
    switch (path) {
      case '/metrics':
        o.registry.metrics().then(
          (text) => reply(200, text, o.registry.contentType),
          () => reply(500, 'metrics unavailable\n'),
        );
        return;
      case '/healthz':
        return o.healthy() ? reply(200, 'ok\n') : reply(503, 'unhealthy\n');
      case '/readyz':
        return o.ready() ? reply(200, 'ok\n') : reply(503, 'not ready: informers not synced\n');
      default:
        return reply(404, 'not found\n');
    }
  });
}
