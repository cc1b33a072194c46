// The webhook's HTTPS server for the webhook benchmark, without a cluster: the real
// express app (createApp), TLS options, logger (info level, as deployed) and metrics of
// webhook/src/main.ts, with the Rollout the handler looks up served from memory instead of
// an informer cache. Two floors to compare with, answering a fixed AdmissionReview of the
// same size: `baseline` is the same TLS server without express or Steerer code (what Node's
// HTTPS alone costs on this machine); `express` adds express and the app's JSON body reader,
// as Steerer's app uses them, but no Steerer code.
//
// Usage: node bench/dist/webhook-server.js CERT_DIR PORT_FILE [baseline|express]

import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { readCertificateDir, tlsContextOptions } from '@steerer/certs';
import { createLogger } from '@steerer/common';
import type { Deployment, KubeObject, RolloutObject, Service } from '@steerer/common';
import { createApp } from '@steerer/webhook/app';
import { jsonBody } from '@steerer/webhook/json-body';
import type { Lookup } from '@steerer/webhook/lookup';
import { WebhookMetrics } from '@steerer/webhook/metrics';
import { seedRollout } from './webhook-fixture.js';

/** The Rollout cache of one Rollout; the direct GETs are never needed by this request. */
class MemoryLookup implements Lookup {
  private readonly byKey = new Map<string, RolloutObject>();
  constructor(rollouts: RolloutObject[]) {
    for (const r of rollouts) this.byKey.set(`${r.metadata.namespace}/${r.metadata.name}`, r);
  }
  rollouts(namespace: string): Promise<readonly RolloutObject[]> {
    return Promise.resolve(
      [...this.byKey.values()].filter((r) => r.metadata.namespace === namespace),
    );
  }
  rollout(namespace: string, name: string): Promise<RolloutObject | undefined> {
    return Promise.resolve(this.byKey.get(`${namespace}/${name}`));
  }
  deployment(): Promise<Deployment | undefined> {
    return Promise.reject(new Error('not used by this benchmark'));
  }
  service(): Promise<Service | undefined> {
    return Promise.reject(new Error('not used by this benchmark'));
  }
  route(): Promise<KubeObject | undefined> {
    return Promise.reject(new Error('not used by this benchmark'));
  }
  grants(): Promise<readonly unknown[]> {
    return Promise.reject(new Error('not used by this benchmark'));
  }
  subsetRules(): Promise<readonly unknown[]> {
    return Promise.reject(new Error('not used by this benchmark'));
  }
}

/**
 * Express with the body reader Steerer's app uses (webhook/src/json-body.ts), answering a
 * constant review the way the app writes its answers (writeHead and end): the framework's
 * floor, with no Steerer code.
 */
function expressFloor(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const answer = JSON.stringify(ANSWER);
  app.post('/mutate/deployments', jsonBody(6 * 1024 * 1024), (_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(answer),
    });
    res.end(answer);
  });
  return app;
}

const ANSWER = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: {
    uid: 'f2c8a3b4-1111-4e0c-9d55-7a6b5c4d3e2f',
    allowed: true,
    patchType: 'JSONPatch',
    patch: 'x'.repeat(400),
  },
};

/** Reads the body and answers a constant AdmissionReview of the webhook's answer's size. */
function baseline(): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = JSON.stringify(ANSWER);
  return (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(answer),
      });
      res.end(answer);
    });
  };
}

async function main(): Promise<void> {
  const [certDir, portFile, mode] = process.argv.slice(2);
  if (!certDir || !portFile) throw new Error('usage: webhook-server.js CERT_DIR PORT_FILE');
  const material = await readCertificateDir(certDir);
  const app =
    mode === 'baseline'
      ? baseline()
      : mode === 'express'
        ? expressFloor()
        : createApp({
            lookup: new MemoryLookup([seedRollout()]),
            metrics: new WebhookMetrics(),
            logger: createLogger({ level: 'info', component: 'webhook' }),
            readiness: () => [],
          });
  const server = https.createServer(tlsContextOptions(material), app);
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    writeFileSync(portFile, String((server.address() as AddressInfo).port));
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`webhook-server: ${String(e)}\n`);
  process.exit(1);
});
