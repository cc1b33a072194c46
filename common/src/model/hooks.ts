// Lifecycle webhooks (spec.hooks): HTTP endpoints a release calls at fixed moments — before
// the first step (pre-rollout), at every step (rollout), before the promotion
// (confirm-promotion), after it (post-rollout) and when it is rolled back (rollback) — their
// parsing, their status, and the JSON body they receive.

import type { Checker, Json } from './checker.js';
import { describe } from './checker.js';
import { formatDuration } from './duration.js';
import { isJsonMap } from './json.js';
import type { Phase } from './phases.js';

export const HOOK_TYPES = [
  'pre-rollout',
  'rollout',
  'confirm-promotion',
  'post-rollout',
  'rollback',
] as const;
export type HookType = (typeof HOOK_TYPES)[number];

/** Hooks that gate the release (their failure holds it); the others only report. */
export const GATING_HOOK_TYPES: readonly HookType[] = [
  'pre-rollout',
  'rollout',
  'confirm-promotion',
];

export const HOOK_LIMITS = {
  maxHooks: 20,
  nameMaxLength: 63,
  urlMaxLength: 2048,
  defaultTimeoutMs: 10_000,
  minTimeoutMs: 1000,
  maxTimeoutMs: 5 * 60_000,
  maxMetadataEntries: 32,
  metadataKeyMaxLength: 63,
  metadataValueMaxLength: 1024,
  /** Attempts of a hook that only reports (post-rollout, rollback) before it is given up. */
  reportAttempts: 5,
} as const;

export interface HookSpec {
  /** Unique among the Rollout's hooks; status and metrics name the hook by it. */
  name: string;
  type: HookType;
  /** http or https, absolute, without user information. */
  url: string;
  /** How long one attempt may take. */
  timeoutMs: number;
  /** Passed through to the receiver as `metadata`. */
  metadata: Record<string, string>;
}

export const HOOK_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type HookPhase = (typeof HOOK_PHASES)[number];

/** The latest result of one hook, in status.hooks. */
export interface HookStatus {
  name: string;
  type: HookType;
  /** The canary revision the call is about. */
  revision: string;
  /** rollout hooks: the canary weight the call is about (one call per step). */
  weight?: number;
  /**
   * Pending: due, not called yet. Running: the first attempt is under way. Succeeded: an
   * attempt answered 2xx. Failed: the last attempt failed (gating hooks are tried again
   * while the release waits on them; reporting hooks up to a bound).
   */
  phase: HookPhase;
  attempts: number;
  /** When the last attempt ended (RFC 3339), or when the call became due. */
  lastTime: string;
  /** The HTTP status of the last answer, when there was one. */
  code?: number;
  /** What happened, e.g. "HTTP 503", "timed out after 10s", "connection refused". */
  message?: string;
}

/** The JSON body every hook receives (POST, content-type application/json). */
export interface HookPayload {
  /** The Rollout's name and namespace. */
  name: string;
  namespace: string;
  /** The Rollout's phase when the call was made due. */
  phase: Phase;
  /** The canary revision the release is about (the template hash). */
  revision: string;
  /** The canary's weight, in percent, when the call was made due. */
  weight: number;
  hook: { name: string; type: HookType };
  metadata: Record<string, string>;
}

const HOOK_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const USERINFO_PROBLEM =
  'must not carry a user or password (put credentials in the receiver, not the Rollout)';

/** Why `url` cannot be a hook's URL, if it cannot. */
export function hookUrlProblem(url: string): string | undefined {
  if (url.length > HOOK_LIMITS.urlMaxLength) {
    return `must be at most ${HOOK_LIMITS.urlMaxLength} characters`;
  }
  if (!/^https?:\/\//i.test(url)) return 'must be an absolute http:// or https:// URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (parsed.hostname === '') return 'must name a host';
  if (parsed.username !== '' || parsed.password !== '') {
    return USERINFO_PROBLEM;
  }
  if (parsed.hash !== '') return 'must not have a #fragment';
  return undefined;
}

function metadataOf(c: Checker, block: Json, path: string): Record<string, string> {
  const v = block.metadata;
  if (v === undefined) return {};
  if (!isJsonMap(v)) {
    c.fail(path, `must be a map of strings, got ${describe(v)}`);
    return {};
  }
  const entries = Object.entries(v);
  if (entries.length > HOOK_LIMITS.maxMetadataEntries) {
    c.fail(path, `must have at most ${HOOK_LIMITS.maxMetadataEntries} entries`);
  }
  const out: Record<string, string> = {};
  for (const [k, value] of entries) {
    if (k.length === 0 || k.length > HOOK_LIMITS.metadataKeyMaxLength) {
      c.fail(`${path}`, `keys must have 1 to ${HOOK_LIMITS.metadataKeyMaxLength} characters`);
    } else if (typeof value !== 'string') {
      c.fail(`${path}.${k}`, `must be a string, got ${describe(value)}`);
    } else if (value.length > HOOK_LIMITS.metadataValueMaxLength) {
      c.fail(`${path}.${k}`, `must be at most ${HOOK_LIMITS.metadataValueMaxLength} characters`);
    } else out[k] = value;
  }
  return out;
}

function hookOf(c: Checker, item: unknown, path: string): HookSpec | undefined {
  if (!isJsonMap(item)) return c.fail(path, `must be an object, got ${describe(item)}`);
  const name = c.string(item, 'name', `${path}.name`);
  if (name !== undefined && (name.length > HOOK_LIMITS.nameMaxLength || !HOOK_NAME.test(name))) {
    c.fail(
      `${path}.name`,
      `${describe(name)} is not a valid hook name (at most ${HOOK_LIMITS.nameMaxLength} lower-case letters, digits and '-')`,
    );
  }
  const type = item.type;
  if (typeof type !== 'string' || !(HOOK_TYPES as readonly string[]).includes(type)) {
    c.fail(
      `${path}.type`,
      type === undefined
        ? `required (one of ${HOOK_TYPES.join(', ')})`
        : `must be one of ${HOOK_TYPES.join(', ')}, got ${describe(type)}`,
    );
  }
  const url = c.string(item, 'url', `${path}.url`);
  const problem = url === undefined ? undefined : hookUrlProblem(url);
  // A URL with user information is not repeated: it may hold a password.
  const secret = url !== undefined && problem === USERINFO_PROBLEM;
  if (problem !== undefined)
    c.fail(`${path}.url`, secret ? problem : `${describe(url)} ${problem}`);
  const timeoutMs = c.optionalDuration(item, 'timeout', `${path}.timeout`, {
    minMs: HOOK_LIMITS.minTimeoutMs,
    maxMs: HOOK_LIMITS.maxTimeoutMs,
  });
  const metadata = metadataOf(c, item, `${path}.metadata`);
  if (name === undefined || url === undefined || problem !== undefined) return undefined;
  return {
    name,
    type: type as HookType,
    url,
    timeoutMs: timeoutMs ?? HOOK_LIMITS.defaultTimeoutMs,
    metadata,
  };
}

/** spec.hooks: optional; every hook valid and named once. */
export function hooksOf(c: Checker, input: Json): HookSpec[] {
  const v = input.hooks;
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    c.fail('spec.hooks', `must be a list, got ${describe(v)}`);
    return [];
  }
  if (v.length > HOOK_LIMITS.maxHooks) {
    c.fail('spec.hooks', `must have at most ${HOOK_LIMITS.maxHooks} hooks, got ${v.length}`);
  }
  const hooks: HookSpec[] = [];
  const seen = new Set<string>();
  v.forEach((item: unknown, i) => {
    const h = hookOf(c, item, `spec.hooks[${i}]`);
    if (!h) return;
    if (seen.has(h.name)) c.fail(`spec.hooks[${i}].name`, `"${h.name}" is used by another hook`);
    seen.add(h.name);
    hooks.push(h);
  });
  return hooks;
}

/** "confirm-promotion hook approve". */
export function hookTitle(h: { type: HookType; name: string }): string {
  return `${h.type} hook ${h.name}`;
}

/** The default timeout, as users write durations. */
export const DEFAULT_HOOK_TIMEOUT = formatDuration(HOOK_LIMITS.defaultTimeoutMs);
