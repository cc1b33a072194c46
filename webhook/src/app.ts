// The webhook's HTTP surface as an express app, built without listening so tests drive it
// with supertest. The app only checks requests at the boundary (JSON, size, an
// admission.k8s.io/v1 AdmissionReview of the kind the path admits), gathers what a handler
// needs through the Lookup, and returns what the pure handler decided.

import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { errorMessage } from '@steerer/common';
import type { Logger } from '@steerer/common';
import { parseAdmissionReview, resultOf, reviewOf } from './admission.js';
import { jsonBody } from './json-body.js';
import type { AdmissionRequest, Reviewed } from './admission.js';
import { ENDPOINTS, admits, describeKind } from './endpoints.js';
import type { Endpoint, EndpointOf } from './endpoints.js';
import type { Lookup } from './lookup.js';
import type { RequestResult, WebhookMetrics } from './metrics.js';
import { canaryUpdate, deploymentFacts, mutateDeployment } from './mutate-deployment.js';
import { keepRouteWeights } from './mutate-route.js';
import { rolloutFacts, rolloutTarget, validateRollout } from './validate-rollout.js';
import { routeTarget, validateRoute } from './validate-route.js';

/** Two objects at etcd's 1.5 MiB limit, JSON-escaped, plus the envelope. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface AppDeps {
  lookup: Lookup;
  metrics: WebhookMetrics;
  logger: Logger;
  /** Why the webhook cannot serve yet (caches, certificate); empty when ready. */
  readiness: () => string[];
  now?: () => Date;
  maxBodyBytes?: number;
  /** Prometheus' scrape interval, when known: checks' windows must span two scrapes. */
  scrapeIntervalMs?: number | undefined;
  /** Serve only /healthz, /readyz and /metrics (the plain-HTTP --metrics-address server). */
  probesOnly?: boolean;
}

type Handler = (req: AdmissionRequest) => Promise<Reviewed>;

/** The handler of an endpoint: each works out its target once and passes it on. */
function handlerOf(e: EndpointOf, deps: AppDeps, now: () => Date): Handler {
  const { lookup } = deps;
  switch (e.handles) {
    case 'deployments':
      return async (r) => {
        const u = canaryUpdate(r);
        return mutateDeployment(r, await deploymentFacts(r, lookup, u), now(), u);
      };
    case 'rollouts':
      return async (r) => {
        const t = rolloutTarget(r, { scrapeIntervalMs: deps.scrapeIntervalMs });
        const facts =
          'skip' in t || !t.spec.ok
            ? undefined
            : await rolloutFacts(t.namespace, t.name, t.spec.value, lookup);
        return validateRollout(r, facts, t);
      };
    case 'routes':
      return async (r) => {
        const t = routeTarget(r);
        const rollouts = 'skip' in t ? [] : await lookup.rollouts(t.namespace);
        return validateRoute(r, { rollouts }, e.router, t);
      };
    case 'route-weights':
      return async (r) => {
        const t = routeTarget(r);
        const rollouts = 'skip' in t ? [] : await lookup.rollouts(t.namespace);
        return keepRouteWeights(r, { rollouts }, e.router, t);
      };
  }
}

/**
 * Writes a JSON answer directly: admission answers are small, never cached and never
 * conditional, so express's `res.json` (content negotiation, ETag and freshness checks)
 * only costs time on the hot path.
 */
function sendJson(res: Response, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** A metav1.Status body for requests that get no AdmissionReview back. */
function failure(res: Response, code: number, reason: string, message: string): void {
  sendJson(res, code, {
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code,
    reason,
    message,
  });
}

function endpointOfPath(path: string): Endpoint | undefined {
  return ENDPOINTS.find((e) => e.endpoint.path === path)?.endpoint;
}

/** /healthz, /readyz and /metrics. */
function probeRoutes(app: express.Express, deps: AppDeps): void {
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const reasons = deps.readiness();
    if (reasons.length === 0) res.type('text/plain').send('ok\n');
    else
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: ${reasons.join('; ')}\n`);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}

type Observe = (operation: string, result: RequestResult) => void;

/** The AdmissionRequest in the body, if the body is one of the kind the endpoint admits. */
function admissionRequest(
  req: Request,
  res: Response,
  endpoint: Endpoint,
  done: Observe,
  logger: Logger,
): AdmissionRequest | undefined {
  if (req.body === undefined) {
    done('', 'bad_request');
    failure(
      res,
      400,
      'BadRequest',
      `expected a JSON body (Content-Type: application/json), got ${req.get('content-type') ?? 'no Content-Type'}`,
    );
    return undefined;
  }
  const parsed = parseAdmissionReview(req.body);
  if (!parsed.ok) {
    done('', 'bad_request');
    logger.warn('bad admission request', { path: endpoint.path, reason: parsed.reason });
    failure(res, 400, 'BadRequest', parsed.reason);
    return undefined;
  }
  const r = parsed.request;
  if (!admits(endpoint, r.kind)) {
    done(r.operation, 'bad_request');
    const message = `${endpoint.path} admits ${describeKind(endpoint, endpoint.versions)}, got ${describeKind(r.kind, [r.kind.version])}`;
    logger.warn('admission request for another kind', {
      path: endpoint.path,
      uid: r.uid,
      reason: message,
    });
    failure(res, 400, 'BadRequest', message);
    return undefined;
  }
  return r;
}

/** Logs a handler's answer: denials and patches at info, plain allows at debug. */
function logReviewed(
  logger: Logger,
  endpoint: Endpoint,
  r: AdmissionRequest,
  reviewed: Reviewed,
): void {
  const result = resultOf(reviewed.response);
  const fields = {
    kind: endpoint.kind,
    namespace: r.namespace,
    name: r.name,
    operation: r.operation,
    uid: r.uid,
    result,
    note: reviewed.note,
    ...(r.dryRun ? { dryRun: true } : {}),
    ...(reviewed.response.warnings ? { warnings: reviewed.response.warnings } : {}),
  };
  if (result === 'denied')
    logger.info(`denied: ${reviewed.response.status?.message ?? ''}`, fields);
  else if (result === 'patched') logger.info('patched', fields);
  else logger.debug('allowed', fields);
}

/** The express route of one admission endpoint. */
function admissionRoute(endpoint: Endpoint, handle: Handler, deps: AppDeps) {
  const { metrics, logger } = deps;
  return async (req: Request, res: Response): Promise<void> => {
    const started = performance.now();
    const done: Observe = (operation, result) =>
      metrics.observe(endpoint.kind, operation, result, (performance.now() - started) / 1000);
    const r = admissionRequest(req, res, endpoint, done, logger);
    if (!r) return;
    let reviewed: Reviewed;
    try {
      reviewed = await handle(r);
    } catch (e) {
      done(r.operation, 'error');
      logger.error('admission handler failed', {
        kind: endpoint.kind,
        uid: r.uid,
        error: errorMessage(e),
      });
      failure(
        res,
        500,
        'InternalError',
        `admission of ${endpoint.kind} failed: ${errorMessage(e)}`,
      );
      return;
    }
    done(r.operation, resultOf(reviewed.response));
    logReviewed(logger, endpoint, r, reviewed);
    sendJson(res, 200, reviewOf(reviewed.response));
  };
}

export function createApp(deps: AppDeps): express.Express {
  const now = deps.now ?? (() => new Date());
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  probeRoutes(app, deps);
  const json = jsonBody(deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  for (const e of deps.probesOnly ? [] : ENDPOINTS) {
    app.post(e.endpoint.path, json, admissionRoute(e.endpoint, handlerOf(e, deps, now), deps));
  }
  app.use((req: Request, res: Response) => {
    failure(res, 404, 'NotFound', `no handler for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(deps));
  return app;
}

/** Body-parser errors (malformed JSON, too large) and anything a route threw. */
function errorHandler(deps: AppDeps) {
  const { metrics, logger } = deps;
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = err as { type?: unknown; status?: unknown; expose?: unknown };
    const endpoint = endpointOfPath(req.path);
    const observe = (result: RequestResult): void => {
      if (endpoint) metrics.observe(endpoint.kind, '', result, 0);
    };
    if (e.type === 'entity.too.large') {
      observe('too_large');
      failure(
        res,
        413,
        'RequestEntityTooLarge',
        `the body exceeds ${deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes`,
      );
      return;
    }
    const status = typeof e.status === 'number' ? e.status : 500;
    if (status >= 400 && status < 500) {
      observe('bad_request');
      const message =
        e.type === 'entity.parse.failed'
          ? `malformed JSON: ${errorMessage(err)}`
          : errorMessage(err);
      failure(res, 400, 'BadRequest', message);
      return;
    }
    observe('error');
    logger.error('request failed', { path: req.path, error: errorMessage(err) });
    failure(res, 500, 'InternalError', 'internal error');
  };
}
