// Validation of an untrusted Rollout spec (an admission request, a cache entry written
// before any validation existed) into the typed RolloutSpec, naming every bad field.

import { Checker, LIMITS, describe } from './checker.js';
import { isJsonMap as isObject } from './json.js';
import type { Json } from './checker.js';
import { checksOf } from './checks/parse.js';
import { sameService } from './hosts.js';
import { hooksOf } from './hooks.js';
import { notificationsBlock } from './notifications.js';
import type { DeploymentRef, RollbackSpec, RolloutSpec, ValidationResult } from './rollout.js';
import { ROUTERS } from './routing/index.js';
import type { RouteRef } from './routing/router.js';

function deploymentRef(
  c: Checker,
  spec: Json,
  key: 'primary' | 'canary',
): DeploymentRef | undefined {
  const o = c.object(spec, key, `spec.${key}`);
  if (!o) return undefined;
  const name = c.name(o, 'name', `spec.${key}.name`, 'object');
  const host = c.name(o, 'host', `spec.${key}.host`, 'host');
  const subset =
    o.subset === undefined ? undefined : c.name(o, 'subset', `spec.${key}.subset`, 'label');
  if (name === undefined || host === undefined) return undefined;
  if (o.subset !== undefined && subset === undefined) return undefined;
  return { name, host, ...(subset !== undefined ? { subset } : {}) };
}

/**
 * Istio subset routing names a subset on both sides or on neither. One Service may carry
 * both sides only through two different subsets of it.
 */
function sidesProblems(
  c: Checker,
  primary: DeploymentRef,
  canary: DeploymentRef,
  namespace: string | undefined,
): void {
  if (primary.name === canary.name) {
    c.fail('spec.canary.name', `must differ from spec.primary.name ("${primary.name}")`);
  }
  for (const [side, other] of [
    ['primary', 'canary'],
    ['canary', 'primary'],
  ] as const) {
    const set = { primary, canary }[side].subset;
    if (set !== undefined && { primary, canary }[other].subset === undefined) {
      c.fail(
        `spec.${other}.subset`,
        `required when spec.${side}.subset is set (Istio subset routing names both subsets)`,
      );
    }
  }
  if (primary.subset !== undefined && primary.subset === canary.subset) {
    if (sameService(primary.host, canary.host, namespace)) {
      c.fail(
        'spec.canary.subset',
        `must differ from spec.primary.subset ("${primary.subset}") of the same Service`,
      );
    }
    return;
  }
  const bySubsets = primary.subset !== undefined && canary.subset !== undefined;
  if (!bySubsets && sameService(primary.host, canary.host, namespace)) {
    c.fail(
      'spec.canary.host',
      `must differ from spec.primary.host ("${primary.host}"): both name the same Service (to route to two subsets of one Service, set spec.primary.subset and spec.canary.subset)`,
    );
  }
}

export interface ValidateOptions {
  /** The Rollout's namespace, so `podinfo` and `podinfo.<namespace>` count as one host. */
  namespace?: string | undefined;
  /** Prometheus' scrape interval, when known: every check's window must span two scrapes. */
  scrapeIntervalMs?: number | undefined;
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
  if (primary && canary) sidesProblems(c, primary, canary, options.namespace);
  const route = routeBlock(c, input);
  if (route) subsetRouterProblem(c, route.ref, primary, canary);
  const checks = checksOf(c, input, { scrapeIntervalMs: options.scrapeIntervalMs });
  const rollback = rollbackBlock(c, input);
  const progressDeadlineMs = c.optionalDuration(
    input,
    'progressDeadline',
    'spec.progressDeadline',
    {
      minMs: 10_000,
      maxMs: LIMITS.intervalMaxMs,
    },
  );
  const notifications = notificationsBlock(c, input);
  const hooks = hooksOf(c, input);
  if (c.errors.length > 0 || !primary || !canary || !route || !checks) {
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
      checks,
      rollback,
      hooks,
      ...(progressDeadlineMs !== undefined ? { progressDeadlineMs } : {}),
      ...(notifications !== undefined ? { notifications } : {}),
    },
  };
}

/** Subsets named with a router that does not route to subsets. */
function subsetRouterProblem(
  c: Checker,
  ref: RouteRef,
  primary: DeploymentRef | undefined,
  canary: DeploymentRef | undefined,
): void {
  const side =
    primary?.subset !== undefined ? 'primary' : canary?.subset !== undefined ? 'canary' : undefined;
  const router = ROUTERS.find((r) => r.kind === ref.kind);
  if (side === undefined || router?.subsets) return;
  const able = ROUTERS.filter((r) => r.subsets).map((r) => `spec.${r.specField}`);
  c.fail(
    `spec.${side}.subset`,
    `subsets are routed only through ${able.join(' or ')}, not spec.${router?.specField ?? ref.kind}`,
  );
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

/** spec.rollback: optional; every field optional. */
function rollbackBlock(c: Checker, input: Json): RollbackSpec {
  if (input.rollback === undefined) return {};
  const block = c.object(input, 'rollback', 'spec.rollback');
  if (!block) return {};
  const onFailure = c.optionalBoolean(block, 'onFailure', 'spec.rollback.onFailure');
  const failureDurationMs = c.optionalDuration(
    block,
    'failureDuration',
    'spec.rollback.failureDuration',
    { minMs: LIMITS.intervalMinMs, maxMs: LIMITS.intervalMaxMs },
  );
  return {
    ...(onFailure !== undefined ? { onFailure } : {}),
    ...(failureDurationMs !== undefined ? { failureDurationMs } : {}),
  };
}
