// The Rollout custom resource (apps.weave.works/v1beta1): its spec as users write it,
// the status Steerer maintains, and validation of untrusted input into typed values.

import { DURATION_PATTERN, tryParseDuration } from './duration.js';
import { fqdn } from './virtualservice.js';

export const PHASES = [
  /** A referenced object is missing or unusable; Steerer waits for it to be fixed. */
  'Waiting',
  /** Primary and canary already agree; no release has run yet. */
  'Initialized',
  /** A release is advancing the canary's traffic weight. */
  'Progressing',
  /** A release is held at its current weight because a gate failed. */
  'Halted',
  /** The canary's template was copied to the primary; waiting for it to roll out. */
  'Promoting',
  /** Routing all traffic back to the primary and scaling the canary down. */
  'Finalising',
  /** The last release was promoted; waiting for the next revision of the canary. */
  'Succeeded',
] as const;
export type Phase = (typeof PHASES)[number];

export interface DeploymentRef {
  /** Deployment name. */
  name: string;
  /** ClusterIP Service name, as the VirtualService destination host names it. */
  host: string;
}

export interface MetricSpec {
  type: 'counter';
  /** The Istio request counter, e.g. istio_requests_total. */
  name: string;
  /** The window the success rate is computed over, as written (e.g. "1m"). */
  interval: string;
  /** `interval` in milliseconds. */
  intervalMs: number;
  /** Minimum success rate, in percent (0–100). */
  threshold: number;
}

export interface RolloutSpec {
  targetKind: 'Deployment';
  primary: DeploymentRef;
  canary: DeploymentRef;
  virtualService: { name: string; weight: number };
  metric: MetricSpec;
}

export const CONDITION_TYPES = ['Ready', 'Progressing', 'Stalled'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export const ANALYSIS_RESULTS = ['Pass', 'Fail', 'NoData', 'Error'] as const;
export type AnalysisResultKind = (typeof ANALYSIS_RESULTS)[number];

/** The last success-rate check, as recorded in status. */
export interface AnalysisStatus {
  result: AnalysisResultKind;
  /** Success rate in percent, rounded to two decimals; absent without data. */
  successRate?: number;
  threshold: number;
  /** Requests per second behind the rate over the window, when known. */
  requestRate?: number;
  window: string;
  time: string;
  message?: string;
}

export interface RolloutStatus {
  observedGeneration?: number;
  phase?: Phase;
  /** Percentage of traffic currently routed to the canary. */
  canaryWeight?: number;
  /** Failed success-rate checks during the current release. */
  failedChecks?: number;
  /** The canary revision (template hash) the current or last release is about. */
  canaryRevision?: string;
  /** The canary revision last promoted to the primary. */
  lastPromotedRevision?: string;
  /** When the canary weight last changed (RFC 3339). */
  lastStepTime?: string;
  /** When the last gated check of the current release ran (RFC 3339). */
  lastCheckTime?: string;
  /** When the current release started. */
  startTime?: string;
  /** When the phase last changed. */
  lastTransitionTime?: string;
  analysis?: AnalysisStatus;
  /** One sentence on what Steerer is doing or waiting for. */
  message?: string;
  conditions?: Condition[];
}

export interface RolloutObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: unknown;
  status?: RolloutStatus;
}

/** A problem with one field of an input object. */
export interface FieldError {
  /** JSON-path-like location, e.g. "spec.metric.threshold". */
  field: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/** Kubernetes object names (DNS-1123 subdomain). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Service names (DNS-1035 label). */
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Namespace names (DNS-1123 label). */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export const LIMITS = {
  nameMaxLength: 253,
  serviceNameMaxLength: 63,
  metricNameMaxLength: 200,
  /** The CRD schema's maxLength of spec.metric.interval. */
  intervalMaxLength: 32,
  /** The longest analysis window accepted: one day. */
  intervalMaxMs: 24 * 3_600_000,
  intervalMinMs: 1000,
} as const;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short rendering of a bad value for a message; control characters stay visible. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * Why `host` cannot name a Service the way a VirtualService destination does (name,
 * name.namespace, name.namespace.svc or name.namespace.svc.<cluster domain>), if it cannot.
 */
function hostProblem(host: string): string | undefined {
  if (!DNS1123_SUBDOMAIN.test(host)) return "lower-case letters, digits, '-' and '.'";
  const [service = '', namespace, svc] = host.split('.');
  if (service.length > LIMITS.serviceNameMaxLength || !DNS1035_LABEL.test(service)) {
    return `the Service name "${service}" must start with a letter and have at most ${LIMITS.serviceNameMaxLength} characters`;
  }
  if (namespace !== undefined && (namespace.length > 63 || !DNS1123_LABEL.test(namespace))) {
    return `the namespace "${namespace}" must have at most 63 characters`;
  }
  if (svc !== undefined && svc !== 'svc') {
    return 'write name, name.namespace or name.namespace.svc.cluster.local';
  }
  return undefined;
}

class Checker {
  readonly errors: FieldError[] = [];

  fail(field: string, message: string): undefined {
    this.errors.push({ field, message });
    return undefined;
  }

  object(parent: Json, key: string, path: string): Json | undefined {
    const v = parent[key];
    if (v === undefined) return this.fail(path, 'required');
    if (!isObject(v)) return this.fail(path, `must be an object, got ${describe(v)}`);
    return v;
  }

  string(parent: Json, key: string, path: string): string | undefined {
    const v = parent[key];
    if (v === undefined || v === '') return this.fail(path, 'required');
    if (typeof v !== 'string') return this.fail(path, `must be a string, got ${describe(v)}`);
    return v;
  }

  name(parent: Json, key: string, path: string, kind: 'object' | 'host'): string | undefined {
    const v = this.string(parent, key, path);
    if (v === undefined) return undefined;
    if (v.length > LIMITS.nameMaxLength) {
      return this.fail(path, `must be at most ${LIMITS.nameMaxLength} characters, got ${v.length}`);
    }
    if (kind === 'host') {
      const problem = hostProblem(v);
      if (problem)
        return this.fail(path, `${describe(v)} is not a valid Service host (${problem})`);
    } else if (!DNS1123_SUBDOMAIN.test(v)) {
      return this.fail(
        path,
        `${describe(v)} is not a valid Kubernetes name (lower-case letters, digits, '-' and '.')`,
      );
    }
    return v;
  }

  number(
    parent: Json,
    key: string,
    path: string,
    min: number,
    max: number,
    integer: boolean,
  ): number | undefined {
    const v = parent[key];
    if (v === undefined) return this.fail(path, 'required');
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      return this.fail(path, `must be a number, got ${describe(v)}`);
    }
    if (integer && !Number.isInteger(v)) return this.fail(path, `must be a whole number, got ${v}`);
    if (v < min || v > max) return this.fail(path, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }
}

function deploymentRef(
  c: Checker,
  spec: Json,
  key: 'primary' | 'canary',
): DeploymentRef | undefined {
  const o = c.object(spec, key, `spec.${key}`);
  if (!o) return undefined;
  const name = c.name(o, 'name', `spec.${key}.name`, 'object');
  const host = c.name(o, 'host', `spec.${key}.host`, 'host');
  return name !== undefined && host !== undefined ? { name, host } : undefined;
}

/**
 * True when two destination hosts certainly name the same Service: equal once expanded
 * to FQDNs in `namespace`, or, without a namespace, equal where both spell one out.
 */
function sameService(a: string, b: string, namespace: string | undefined): boolean {
  if (a === b) return true;
  if (namespace !== undefined) return fqdn(a, namespace) === fqdn(b, namespace);
  return a.includes('.') && b.includes('.') && fqdn(a, '') === fqdn(b, '');
}

export interface ValidateOptions {
  /** The Rollout's namespace, so `podinfo` and `podinfo.<namespace>` count as one host. */
  namespace?: string | undefined;
}

/** Validates an untrusted Rollout spec into a typed one, naming every bad field. */
export function validateRolloutSpec(
  input: unknown,
  options: ValidateOptions = {},
): ValidationResult<RolloutSpec> {
  const c = new Checker();
  if (!isObject(input)) {
    c.fail('spec', input === undefined ? 'required' : `must be an object, got ${describe(input)}`);
    return { ok: false, errors: c.errors };
  }
  const kind = input.targetKind;
  if (kind !== 'Deployment') {
    c.fail(
      'spec.targetKind',
      kind === undefined ? 'required (Deployment)' : `must be "Deployment", got ${describe(kind)}`,
    );
  }
  const primary = deploymentRef(c, input, 'primary');
  const canary = deploymentRef(c, input, 'canary');
  if (primary && canary) {
    if (primary.name === canary.name) {
      c.fail('spec.canary.name', `must differ from spec.primary.name ("${primary.name}")`);
    }
    if (sameService(primary.host, canary.host, options.namespace)) {
      c.fail(
        'spec.canary.host',
        `must differ from spec.primary.host ("${primary.host}"): both name the same Service`,
      );
    }
  }
  let virtualService: RolloutSpec['virtualService'] | undefined;
  const vs = c.object(input, 'virtualService', 'spec.virtualService');
  if (vs) {
    const name = c.name(vs, 'name', 'spec.virtualService.name', 'object');
    const weight = c.number(vs, 'weight', 'spec.virtualService.weight', 1, 100, true);
    if (name !== undefined && weight !== undefined) virtualService = { name, weight };
  }
  let metric: MetricSpec | undefined;
  const m = c.object(input, 'metric', 'spec.metric');
  if (m) {
    if (m.type !== 'counter') {
      c.fail(
        'spec.metric.type',
        m.type === undefined ? 'required (counter)' : `must be "counter", got ${describe(m.type)}`,
      );
    }
    let name = c.string(m, 'name', 'spec.metric.name');
    if (name !== undefined && name.length > LIMITS.metricNameMaxLength) {
      name = c.fail(
        'spec.metric.name',
        `must be at most ${LIMITS.metricNameMaxLength} characters, got ${name.length}`,
      );
    } else if (name !== undefined && !METRIC_NAME.test(name)) {
      name = c.fail(
        'spec.metric.name',
        `${describe(name)} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
      );
    }
    let interval = c.string(m, 'interval', 'spec.metric.interval');
    let intervalMs: number | undefined;
    if (interval !== undefined) {
      intervalMs = tryParseDuration(interval);
      if (interval.length > LIMITS.intervalMaxLength) {
        interval = c.fail(
          'spec.metric.interval',
          `must be at most ${LIMITS.intervalMaxLength} characters, got ${interval.length}`,
        );
      } else if (intervalMs === undefined) {
        interval = c.fail(
          'spec.metric.interval',
          `${describe(interval)} is not a duration (examples: 30s, 1m, 2m30s)`,
        );
      } else if (intervalMs < LIMITS.intervalMinMs || intervalMs > LIMITS.intervalMaxMs) {
        interval = c.fail('spec.metric.interval', `must be between 1s and 24h, got ${interval}`);
      }
    }
    const threshold = c.number(m, 'threshold', 'spec.metric.threshold', 0, 100, false);
    if (
      name !== undefined &&
      interval !== undefined &&
      intervalMs !== undefined &&
      threshold !== undefined &&
      m.type === 'counter'
    ) {
      metric = { type: 'counter', name, interval, intervalMs, threshold };
    }
  }
  if (c.errors.length > 0 || !primary || !canary || !virtualService || !metric) {
    return { ok: false, errors: c.errors };
  }
  return { ok: true, value: { targetKind: 'Deployment', primary, canary, virtualService, metric } };
}

/** The CRD schema's pattern for durations, shared so both layers agree. */
export const METRIC_INTERVAL_PATTERN = DURATION_PATTERN;

/** "podinfo.test": how events and logs name a rollout or a Deployment. */
export function qualified(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}
