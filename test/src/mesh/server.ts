// node:http transport for the two ports: the gateway (every request goes to
// Gateway.handle) and the admin/metrics port (handleAdmin). Both listen on loopback by
// default; close() stops accepting, drops keep-alive connections and resolves.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminRequest, AdminResponse } from './admin.js';
import type { Gateway, GatewayRequest } from './gateway.js';
import type { Logger } from './log.js';

const MAX_ADMIN_BODY = 64 * 1024;

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function toGatewayRequest(req: IncomingMessage): GatewayRequest {
  let url = req.url ?? '/';
  // Absolute-form targets (`GET http://host/path`, as proxies send) keep only path and query.
  if (!url.startsWith('/')) {
    try {
      const parsed = new URL(url);
      url = `${parsed.pathname}${parsed.search}`;
    } catch {
      url = '/';
    }
  }
  const q = url.indexOf('?');
  return {
    origin: 'gateway',
    host: req.headers.host ?? '',
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? '' : url.slice(q + 1),
    method: req.method ?? 'GET',
    header: (name) => headerValue(req, name),
  };
}

function gatewayListener(gateway: Gateway, log: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.resume(); // the simulated workloads ignore request bodies
    gateway.handle(toGatewayRequest(req)).then(
      (reply) => {
        res.writeHead(reply.status, reply.headers);
        res.end(reply.body);
      },
      (error: unknown) => {
        log.error('gateway request failed', { error, url: req.url });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal simulator error');
      },
    );
  };
}

function adminListener(handle: (req: AdminRequest) => AdminResponse, log: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ADMIN_BODY && !rejected) {
        rejected = true;
        res.writeHead(413, { 'content-type': 'text/plain' }).end('body too large');
        req.resume();
      } else if (!rejected) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (rejected) return;
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      try {
        const reply = handle({
          method: req.method ?? 'GET',
          path: q === -1 ? url : url.slice(0, q),
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(reply.status, { 'content-type': reply.contentType });
        res.end(reply.body);
      } catch (error) {
        log.error('admin request failed', { error, url });
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal simulator error');
      }
    });
  };
}

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface RunningServers {
  readonly gatewayUrl: string;
  readonly metricsUrl: string;
  close(): Promise<void>;
}

export async function startServers(options: {
  host: string;
  gatewayPort: number;
  metricsPort: number;
  gateway: Gateway;
  admin: (req: AdminRequest) => AdminResponse;
  log: Logger;
}): Promise<RunningServers> {
  const gatewayServer = createServer(
    { keepAliveTimeout: 65_000 },
    gatewayListener(options.gateway, options.log),
  );
  const adminServer = createServer(adminListener(options.admin, options.log));
  try {
    const gatewayUrl = await listen(gatewayServer, options.host, options.gatewayPort);
    const metricsUrl = await listen(adminServer, options.host, options.metricsPort);
    return {
      gatewayUrl,
      metricsUrl,
      close: async () => {
        await Promise.all([closeServer(gatewayServer), closeServer(adminServer)]);
      },
    };
  } catch (error) {
    await Promise.all([closeServer(gatewayServer), closeServer(adminServer)]);
    throw error;
  }
}
