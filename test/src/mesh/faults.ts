// Per-workload fault profiles: from the Deployment's pod-template annotations, or from an
// admin override that takes precedence. Parsing and validation live here; the per-request
// draws (evenly spaced or seeded random errors, sampled latency) are in draws.ts.

import { MAX_SAMPLED_LATENCY_MS } from './latency.js';
import {
  ERROR_MODES,
  NO_FAULTS,
  type ErrorMode,
  type FaultProfile,
  type LatencyDistribution,
} from './model.js';

export const FAULT_ANNOTATIONS = {
  errorRatio: 'mesh.steerer.io/error-ratio',
  latencyMs: 'mesh.steerer.io/latency-ms',
  errorCode: 'mesh.steerer.io/error-code',
  errorMode: 'mesh.steerer.io/error-mode',
  seed: 'mesh.steerer.io/seed',
  latencyP50Ms: 'mesh.steerer.io/latency-p50-ms',
  latencyP99Ms: 'mesh.steerer.io/latency-p99-ms',
} as const;

export const MAX_LATENCY_MS = 60_000;
export const MAX_SEED = 0xffffffff;

/** The body of `PUT /admin/faults/{ns}/{deployment}`; every field is optional. */
export interface FaultOverrideBody {
  errorRatio?: number;
  latencyMs?: number;
  errorCode?: number;
  errorMode?: ErrorMode;
  seed?: number;
  latency?: LatencyDistribution | null;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Check<T> = { ok: true; value: T } | { ok: false; error: string };

function checkNumber(
  raw: unknown,
  what: string,
  range: { min: number; max: number; integer?: boolean; above?: boolean },
): Check<number> {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && raw.trim() !== '') value = Number(raw.trim());
  else return { ok: false, error: `${what} must be a number, got ${JSON.stringify(raw)}` };
  if (!Number.isFinite(value)) {
    return { ok: false, error: `${what} must be a number, got ${JSON.stringify(raw)}` };
  }
  if (range.integer && !Number.isInteger(value)) {
    return { ok: false, error: `${what} must be an integer, got ${value}` };
  }
  if (range.above && value <= range.min) {
    return { ok: false, error: `${what} must be > ${range.min} and ≤ ${range.max}, got ${value}` };
  }
  if (value < range.min || value > range.max) {
    return { ok: false, error: `${what} must be within ${range.min}..${range.max}, got ${value}` };
  }
  return { ok: true, value };
}

const RANGES = {
  errorRatio: { min: 0, max: 1 },
  latencyMs: { min: 0, max: MAX_LATENCY_MS },
  errorCode: { min: 100, max: 599, integer: true },
  seed: { min: 0, max: MAX_SEED, integer: true },
} as const;
const NUMBER_FIELDS = ['errorRatio', 'latencyMs', 'errorCode', 'seed'] as const;

function checkMode(raw: unknown, what: string): Check<ErrorMode> {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  const mode = ERROR_MODES.find((m) => m === text);
  return mode !== undefined
    ? { ok: true, value: mode }
    : { ok: false, error: `${what} must be "even" or "random", got ${JSON.stringify(raw)}` };
}

/** p50 in (0, max], p99 in [p50, max]; names are what the error messages call them. */
function checkLatency(
  p50Raw: unknown,
  p99Raw: unknown,
  names: { p50: string; p99: string },
): Check<LatencyDistribution> {
  const p50 = checkNumber(p50Raw, names.p50, { min: 0, max: MAX_SAMPLED_LATENCY_MS, above: true });
  if (!p50.ok) return p50;
  const p99 = checkNumber(p99Raw, names.p99, { min: 0, max: MAX_SAMPLED_LATENCY_MS });
  if (!p99.ok) return p99;
  if (p99.value < p50.value) {
    return {
      ok: false,
      error: `${names.p99} (${p99.value}) must be ≥ ${names.p50} (${p50.value})`,
    };
  }
  return { ok: true, value: { p50Ms: p50.value, p99Ms: p99.value } };
}

/** Reads the fault annotations; invalid values are ignored and reported as warnings. */
export function faultsFromAnnotations(annotations: Readonly<Record<string, string>>): {
  profile: FaultProfile;
  warnings: string[];
} {
  const warnings: string[] = [];
  const profile: Mutable<FaultProfile> = { ...NO_FAULTS };
  const keep = <T>(checked: Check<T>, set: (value: T) => void): void => {
    if (checked.ok) set(checked.value);
    else warnings.push(checked.error);
  };
  for (const field of NUMBER_FIELDS) {
    const name = FAULT_ANNOTATIONS[field];
    const raw = annotations[name];
    if (raw === undefined) continue;
    keep(checkNumber(raw, name, RANGES[field]), (v) => (profile[field] = v));
  }
  const mode = annotations[FAULT_ANNOTATIONS.errorMode];
  if (mode !== undefined) {
    keep(checkMode(mode, FAULT_ANNOTATIONS.errorMode), (v) => (profile.errorMode = v));
  }
  const p50 = annotations[FAULT_ANNOTATIONS.latencyP50Ms];
  const p99 = annotations[FAULT_ANNOTATIONS.latencyP99Ms];
  if (p50 !== undefined && p99 !== undefined) {
    const names = { p50: FAULT_ANNOTATIONS.latencyP50Ms, p99: FAULT_ANNOTATIONS.latencyP99Ms };
    keep(checkLatency(p50, p99, names), (v) => (profile.latency = v));
  } else if (p50 !== undefined || p99 !== undefined) {
    warnings.push(
      `${FAULT_ANNOTATIONS.latencyP50Ms} and ${FAULT_ANNOTATIONS.latencyP99Ms} must be set together`,
    );
  }
  return { profile, warnings };
}

const OVERRIDE_FIELDS = [...NUMBER_FIELDS, 'errorMode', 'latency'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseLatencyField(raw: unknown): Check<LatencyDistribution | undefined> {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  if (!isRecord(raw)) {
    return { ok: false, error: 'latency must be an object {"p50Ms":…,"p99Ms":…} or null' };
  }
  const unknownKeys = Object.keys(raw).filter((k) => k !== 'p50Ms' && k !== 'p99Ms');
  if (unknownKeys.length > 0) {
    return {
      ok: false,
      error: `unknown field(s) latency.${unknownKeys.join(', latency.')}; expected p50Ms, p99Ms`,
    };
  }
  return checkLatency(raw['p50Ms'], raw['p99Ms'], { p50: 'latency.p50Ms', p99: 'latency.p99Ms' });
}

/**
 * Validates an admin override body, e.g. `{"errorRatio":0.3,"latencyMs":0,"errorCode":500}`
 * or `{"errorRatio":0.005,"errorMode":"random","seed":42,"latency":{"p50Ms":20,"p99Ms":250}}`.
 */
export function parseFaultOverride(body: unknown): Check<FaultProfile> {
  if (!isRecord(body)) return { ok: false, error: 'body must be a JSON object' };
  const unknownKeys = Object.keys(body).filter((k) => !OVERRIDE_FIELDS.includes(k));
  if (unknownKeys.length > 0) {
    return {
      ok: false,
      error: `unknown field(s) ${unknownKeys.join(', ')}; expected ${OVERRIDE_FIELDS.join(', ')}`,
    };
  }
  const profile: Mutable<FaultProfile> = { ...NO_FAULTS };
  for (const field of NUMBER_FIELDS) {
    if (body[field] === undefined) continue;
    const checked = checkNumber(body[field], field, RANGES[field]);
    if (!checked.ok) return checked;
    profile[field] = checked.value;
  }
  if (body['errorMode'] !== undefined) {
    const mode = checkMode(body['errorMode'], 'errorMode');
    if (!mode.ok) return mode;
    profile.errorMode = mode.value;
  }
  const latency = parseLatencyField(body['latency']);
  if (!latency.ok) return latency;
  if (latency.value !== undefined) profile.latency = latency.value;
  return { ok: true, value: profile };
}

/**
 * Whether the (n+1)-th request (n counts from 0) fails at this ratio: errors are spread
 * evenly, and after N requests exactly floor(N * ratio) have failed.
 */
export function shouldFail(n: number, ratio: number): boolean {
  if (ratio <= 0) return false;
  if (ratio >= 1) return true;
  return Math.floor((n + 1) * ratio) > Math.floor(n * ratio);
}

/** An override and its revision: every `set` gets a new one (draws.ts restarts streams). */
export interface OverrideEntry {
  readonly profile: FaultProfile;
  readonly revision: number;
}

/** Admin overrides keyed by `namespace/deployment`. */
export class FaultOverrides {
  private readonly byKey = new Map<string, OverrideEntry>();
  private revisions = 0;

  set(key: string, profile: FaultProfile): void {
    this.byKey.set(key, { profile, revision: ++this.revisions });
  }

  delete(key: string): boolean {
    return this.byKey.delete(key);
  }

  get(key: string): FaultProfile | undefined {
    return this.byKey.get(key)?.profile;
  }

  entry(key: string): OverrideEntry | undefined {
    return this.byKey.get(key);
  }

  entries(): [string, FaultProfile][] {
    return [...this.byKey.entries()]
      .map(([key, e]): [string, FaultProfile] => [key, e.profile])
      .sort(([a], [b]) => a.localeCompare(b));
  }
}
