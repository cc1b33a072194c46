// Per-workload fault profiles: from the Deployment's pod-template annotations, or from an
// admin override that takes precedence. Error selection is a pure, deterministic
// accumulator so a 30% profile yields ~30% errors even over a handful of requests.

import { NO_FAULTS, type FaultProfile } from './model.js';

export const FAULT_ANNOTATIONS = {
  errorRatio: 'mesh.steerer.io/error-ratio',
  latencyMs: 'mesh.steerer.io/latency-ms',
  errorCode: 'mesh.steerer.io/error-code',
} as const;

export const MAX_LATENCY_MS = 60_000;

type NumberCheck = { ok: true; value: number } | { ok: false; error: string };

function checkNumber(
  raw: unknown,
  what: string,
  range: { min: number; max: number; integer?: boolean },
): NumberCheck {
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
  if (value < range.min || value > range.max) {
    return { ok: false, error: `${what} must be within ${range.min}..${range.max}, got ${value}` };
  }
  return { ok: true, value };
}

const RANGES = {
  errorRatio: { min: 0, max: 1 },
  latencyMs: { min: 0, max: MAX_LATENCY_MS },
  errorCode: { min: 100, max: 599, integer: true },
} as const;

/** Reads the fault annotations; invalid values are ignored and reported as warnings. */
export function faultsFromAnnotations(annotations: Readonly<Record<string, string>>): {
  profile: FaultProfile;
  warnings: string[];
} {
  const warnings: string[] = [];
  const profile = { ...NO_FAULTS };
  for (const field of ['errorRatio', 'latencyMs', 'errorCode'] as const) {
    const name = FAULT_ANNOTATIONS[field];
    const raw = annotations[name];
    if (raw === undefined) continue;
    const checked = checkNumber(raw, name, RANGES[field]);
    if (checked.ok) profile[field] = checked.value;
    else warnings.push(checked.error);
  }
  return { profile, warnings };
}

/** Validates an admin override body: `{"errorRatio":0.3,"latencyMs":0,"errorCode":500}`. */
export function parseFaultOverride(
  body: unknown,
): { ok: true; value: FaultProfile } | { ok: false; error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object' };
  }
  const record = body as Record<string, unknown>;
  const unknownKeys = Object.keys(record).filter((k) => !(k in RANGES));
  if (unknownKeys.length > 0) {
    return {
      ok: false,
      error: `unknown field(s) ${unknownKeys.join(', ')}; expected errorRatio, latencyMs, errorCode`,
    };
  }
  const profile = { ...NO_FAULTS };
  for (const field of ['errorRatio', 'latencyMs', 'errorCode'] as const) {
    if (record[field] === undefined) continue;
    const checked = checkNumber(record[field], field, RANGES[field]);
    if (!checked.ok) return checked;
    profile[field] = checked.value;
  }
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

/** Admin overrides keyed by `namespace/deployment`. */
export class FaultOverrides {
  private readonly byKey = new Map<string, FaultProfile>();

  set(key: string, profile: FaultProfile): void {
    this.byKey.set(key, profile);
  }

  delete(key: string): boolean {
    return this.byKey.delete(key);
  }

  get(key: string): FaultProfile | undefined {
    return this.byKey.get(key);
  }

  entries(): [string, FaultProfile][] {
    return [...this.byKey.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}
