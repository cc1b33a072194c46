// Field-by-field validation of untrusted input, naming each bad field with a message users
// can act on. validate.ts checks a Rollout's spec with it; each check type parses its own
// block with it (checks/success-rate.ts).

import { formatDuration, tryParseDuration } from './duration.js';
import { isJsonMap } from './json.js';
import type { FieldError } from './rollout.js';

/** Kubernetes object names (DNS-1123 subdomain). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Service names (DNS-1035 label). */
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Namespace names (DNS-1123 label). */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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

export type Json = Record<string, unknown>;
const isObject = isJsonMap;

/** A short rendering of a bad value for a message; control characters stay visible. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * Why `host` cannot name a Service the way a route's destination does (name,
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

export class Checker {
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

  name(
    parent: Json,
    key: string,
    path: string,
    kind: 'object' | 'host' | 'label',
  ): string | undefined {
    const v = this.string(parent, key, path);
    if (v === undefined) return undefined;
    if (kind === 'label') {
      // What Istio accepts as a DestinationRule subset name.
      if (v.length <= 63 && DNS1123_LABEL.test(v)) return v;
      return this.fail(
        path,
        `${describe(v)} is not a valid subset name (at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)`,
      );
    }
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

  /** An optional boolean; undefined when absent. */
  optionalBoolean(parent: Json, key: string, path: string): boolean | undefined {
    const v = parent[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return this.fail(path, `must be true or false, got ${describe(v)}`);
    return v;
  }

  /** An optional duration ("30s", "10m") between the bounds, in milliseconds. */
  optionalDuration(
    parent: Json,
    key: string,
    path: string,
    bounds: { minMs: number; maxMs: number },
  ): number | undefined {
    const v = parent[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string')
      return this.fail(path, `must be a duration string, got ${describe(v)}`);
    const ms = v.length <= LIMITS.intervalMaxLength ? tryParseDuration(v) : undefined;
    if (ms === undefined)
      return this.fail(path, `${describe(v)} is not a duration (examples: 30s, 1m, 2m30s)`);
    if (ms < bounds.minMs || ms > bounds.maxMs) {
      return this.fail(
        path,
        `must be between ${formatDuration(bounds.minMs)} and ${formatDuration(bounds.maxMs)}, got ${v}`,
      );
    }
    return ms;
  }
}
