// The gateway's request path, shared by real HTTP requests and background load: route
// (routing.ts), answer as the workload would (podinfo.ts + faults), wait for the simulated
// latency, then record Istio metrics. Transport-free: server.ts adapts node:http to it.

import { setMaxListeners } from 'node:events';
import { sleep, type Clock } from './clock.js';
import { FaultDraws } from './draws.js';
import type { FaultOverrides } from './faults.js';
import type { IstioMetrics, ResponseFlags } from './istio-metrics.js';
import { objectKey, type FaultProfile } from './model.js';
import { faultReply, podinfoReply, podName } from './podinfo.js';
import { decide, type RouteDecision, type RouteRequest, type RoutingTable } from './routing.js';
import type { Outcome, RequestOrigin, SelfMetrics } from './self-metrics.js';
import { Sequencer } from './sequence.js';

export interface GatewayRequest extends RouteRequest {
  readonly origin: RequestOrigin;
}

export interface GatewayResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface GatewayDeps {
  table(): RoutingTable;
  clock: Clock;
  istio: IstioMetrics;
  self: SelfMetrics;
  overrides: FaultOverrides;
}

const TEXT = 'text/plain; charset=utf-8';

const OUTCOMES: Readonly<Record<RouteDecision['kind'], Outcome>> = {
  'no-route': 'no_route',
  direct: 'direct_response',
  unavailable: 'unavailable',
  upstream: 'upstream',
};

export class Gateway {
  private readonly sequencer = new Sequencer();
  private readonly draws = new FaultDraws();
  private readonly closing = new AbortController();

  constructor(private readonly deps: GatewayDeps) {
    // Every pending simulated wait listens on this signal; thousands are normal under load.
    setMaxListeners(0, this.closing.signal);
  }

  /** The fault profile in force for a workload: admin override, else annotations. */
  faultsFor(namespace: string, name: string, annotated: FaultProfile): FaultProfile {
    return this.deps.overrides.get(objectKey(namespace, name)) ?? annotated;
  }

  async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const { clock } = this.deps;
    const start = clock.now();
    const decision = decide(this.deps.table(), req, (s) => this.sequencer.next(s));
    switch (decision.kind) {
      case 'no-route':
        this.finish(req, decision, 404, 'NR', start);
        return {
          status: 404,
          headers: { 'content-type': TEXT, server: 'istio-envoy' },
          body: 'no route',
        };
      case 'direct':
        // Envoy's direct_response: the status alone, no body, no response flag.
        this.finish(req, decision, decision.status, '-', start);
        return { status: decision.status, headers: { server: 'istio-envoy' }, body: '' };
      case 'unavailable':
        this.finish(req, decision, decision.status, decision.flag, start);
        return {
          status: decision.status,
          headers: { 'content-type': TEXT, server: 'istio-envoy' },
          // Envoy's cluster_not_found local reply (HTTPRoute's invalid backends) has no body.
          body: decision.status === 503 ? 'no healthy upstream' : '',
        };
      case 'upstream': {
        const w = decision.workload;
        const key = objectKey(w.namespace, w.name);
        const override = this.deps.overrides.entry(key);
        const faults = override?.profile ?? w.faults;
        const origin = override ? `override#${override.revision}` : 'annotations';
        const draw = this.draws.next(key, faults, origin);
        const reply = draw.fail
          ? faultReply(faults.errorCode)
          : podinfoReply(w, decision.replica, req.path);
        await sleep(clock, draw.latencyMs + reply.delayMs, this.closing.signal);
        const duration = this.finish(req, decision, reply.status, '-', start);
        return {
          status: reply.status,
          headers: {
            'content-type': reply.contentType,
            server: 'istio-envoy',
            'x-envoy-upstream-service-time': String(Math.round(duration)),
            'x-mesh-workload': objectKey(w.namespace, w.name),
            'x-mesh-pod': podName(w, decision.replica),
          },
          body: reply.body,
        };
      }
    }
  }

  /** Ends pending simulated waits at once (shutdown). */
  close(): void {
    this.closing.abort();
  }

  private finish(
    req: GatewayRequest,
    decision: RouteDecision,
    code: number,
    flags: ResponseFlags,
    start: number,
  ): number {
    const durationMs = Math.max(0, this.deps.clock.now() - start);
    this.deps.istio.record({ decision, code, flags, durationMs });
    this.deps.self.countRequest(req.origin, OUTCOMES[decision.kind]);
    return durationMs;
  }
}

/** A concrete request host for a (possibly wildcard) configured host. */
function loadHost(first: string): string {
  return first === '*'
    ? 'load.mesh.local'
    : first.startsWith('*')
      ? `load${first.slice(1)}`
      : first;
}

/**
 * The request background load sends for `namespace/name`: to the VirtualService of that
 * name with its first host, pinned to it; else to the HTTPRoute of that name (when a
 * Gateway accepts it) with its first hostname (after the listener's), pinned to its rules.
 */
export function backgroundRequest(
  table: RoutingTable,
  key: string,
  pathAndQuery: string,
): GatewayRequest | undefined {
  const vs = table.virtualServices.get(key);
  let host: string | undefined;
  let pin: Pick<RouteRequest, 'virtualService' | 'httpRoute'>;
  if (vs) {
    const first = vs.hosts[0];
    if (first === undefined) return undefined;
    host = loadHost(first);
    pin = { virtualService: key };
  } else {
    const first = table.httpRoutes.routes.get(key)?.attachments[0]?.hostnames[0];
    if (first === undefined) return undefined;
    host = loadHost(first);
    pin = { httpRoute: key };
  }
  const q = pathAndQuery.indexOf('?');
  const headers: Readonly<Record<string, string>> = { host, 'user-agent': 'mesh-sim-load' };
  return {
    origin: 'load',
    host,
    path: q === -1 ? pathAndQuery : pathAndQuery.slice(0, q),
    query: q === -1 ? '' : pathAndQuery.slice(q + 1),
    method: 'GET',
    header: (name) => headers[name],
    ...pin,
  };
}
