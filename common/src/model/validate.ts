// Validation of an untrusted Rollout spec (an admission request, a cache entry written
// before any validation existed) into the typed RolloutSpec, naming every bad field.

import { tryParseDuration } from './duration.js';
import { sameService } from './hosts.js';
import { isJsonMap } from './json.js';
import type { DeploymentRef, FieldError, RolloutSpec, ValidationResult } from './rollout.js';
import { ROUTERS } from './routing/index.js';
import type { RouteRef } from './routing/router.js';
import type { SuccessRateSpec } from './checks/success-rate.js';

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
const isObject = isJsonMap;

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
  const route = routeBlock(c, input);
  const check = successRateBlock(c, input);
  if (c.errors.length > 0 || !primary || !canary || !route || !check) {
    return { ok: false, errors: c.errors };
  }
  return {
    ok: true,
    value: {
      targetKind: 'Deployment',
      primary,
      canary,
      route: route.ref,
      stepWeight: route.weight,
      checks: [check],
    },
  };
}

/** The route object block (spec.virtualService today): its name and the step weight. */
function routeBlock(c: Checker, input: Json): { ref: RouteRef; weight: number } | undefined {
  const given = ROUTERS.filter((r) => input[r.specField] !== undefined);
  const [router] = given;
  if (!router) {
    const fields = ROUTERS.map((r) => `spec.${r.specField}`);
    const message = fields.length > 1 ? `one of ${fields.join(', ')} is required` : 'required';
    return c.fail(fields[0] ?? 'spec', message);
  }
  for (const other of given.slice(1)) {
    c.fail(
      `spec.${other.specField}`,
      `only one of spec.${router.specField} and spec.${other.specField} may be set`,
    );
  }
  const path = `spec.${router.specField}`;
  const block = c.object(input, router.specField, path);
  if (!block) return undefined;
  const name = c.name(block, 'name', `${path}.name`, 'object');
  const weight = c.number(block, 'weight', `${path}.weight`, 1, 100, true);
  if (name === undefined || weight === undefined || given.length > 1) return undefined;
  return { ref: { kind: router.kind, name }, weight };
}

function metricName(c: Checker, m: Json): string | undefined {
  const name = c.string(m, 'name', 'spec.metric.name');
  if (name !== undefined && name.length > LIMITS.metricNameMaxLength) {
    return c.fail(
      'spec.metric.name',
      `must be at most ${LIMITS.metricNameMaxLength} characters, got ${name.length}`,
    );
  }
  if (name !== undefined && !METRIC_NAME.test(name)) {
    return c.fail(
      'spec.metric.name',
      `${describe(name)} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
    );
  }
  return name;
}

function metricWindow(c: Checker, m: Json): { interval: string; intervalMs: number } | undefined {
  const interval = c.string(m, 'interval', 'spec.metric.interval');
  if (interval === undefined) return undefined;
  const intervalMs = tryParseDuration(interval);
  if (interval.length > LIMITS.intervalMaxLength) {
    return c.fail(
      'spec.metric.interval',
      `must be at most ${LIMITS.intervalMaxLength} characters, got ${interval.length}`,
    );
  }
  if (intervalMs === undefined) {
    return c.fail(
      'spec.metric.interval',
      `${describe(interval)} is not a duration (examples: 30s, 1m, 2m30s)`,
    );
  }
  if (intervalMs < LIMITS.intervalMinMs || intervalMs > LIMITS.intervalMaxMs) {
    return c.fail('spec.metric.interval', `must be between 1s and 24h, got ${interval}`);
  }
  return { interval, intervalMs };
}

/** The seed's spec.metric: the success-rate check. */
function successRateBlock(c: Checker, input: Json): SuccessRateSpec | undefined {
  const m = c.object(input, 'metric', 'spec.metric');
  if (!m) return undefined;
  if (m.type !== 'counter') {
    c.fail(
      'spec.metric.type',
      m.type === undefined ? 'required (counter)' : `must be "counter", got ${describe(m.type)}`,
    );
  }
  const metric = metricName(c, m);
  const window = metricWindow(c, m);
  const threshold = c.number(m, 'threshold', 'spec.metric.threshold', 0, 100, false);
  if (metric === undefined || window === undefined || threshold === undefined) return undefined;
  if (m.type !== 'counter') return undefined;
  return { type: 'success-rate', name: 'success-rate', metric, ...window, threshold };
}
