// The Gateway API router: an HTTPRoute (gateway.networking.k8s.io) whose rules send traffic
// to exactly the primary and canary Services through weighted backendRefs. Reading and
// editing the weights of those rules is pure; every other rule, match, filter, timeout and
// parentRef is left as it is. Gateway API weights are relative (0 to 1,000,000; an absent
// weight is 1), so a split reads as the share of each side, rounded to whole percent.

import { serviceOfHost } from '../hosts.js';
import { isJsonMap } from '../json.js';
import type { JsonPatchOp } from '../json.js';
import type { JsonValue, KubeObject, ObjectMeta } from '../objects.js';
import { keepWeightsWith } from './router.js';
import type {
  CrossNamespaceRef,
  GrantKind,
  RouteHosts,
  RouteState,
  Router,
  Weights,
} from './router.js';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
/** HTTPRoute versions in order of preference; the first one served is used. */
export const HTTP_ROUTE_VERSIONS = ['v1', 'v1beta1'] as const;
/** ReferenceGrant versions in order of preference. */
export const REFERENCE_GRANT_VERSIONS = ['v1', 'v1beta1'] as const;
/** The largest weight a backendRef may have (the HTTPRoute schema's maximum). */
export const MAX_BACKEND_WEIGHT = 1_000_000;
/** The weight of a backendRef that names none. */
export const DEFAULT_BACKEND_WEIGHT = 1;

export interface HTTPBackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  /** Left as found when not a number, so a malformed weight can be named. */
  weight?: unknown;
  [key: string]: unknown;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: JsonValue[];
  filters?: JsonValue[];
  backendRefs?: HTTPBackendRef[];
  [key: string]: unknown;
}

export interface HTTPRouteObject extends KubeObject {
  spec: {
    parentRefs?: JsonValue[];
    hostnames?: string[];
    rules?: HTTPRouteRule[];
    [key: string]: unknown;
  };
  status?: { parents?: unknown[] };
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isJsonMap(v)) return undefined;
  return Object.fromEntries(
    Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/**
 * An HTTPRoute whose rules and backendRefs are well-formed, read from any object without
 * throwing. Malformed rules and backendRefs become placeholders that match no Service, so
 * positions stay those of the object a patch applies to.
 */
export function httpRouteView(obj: unknown, namespace?: string): HTTPRouteObject {
  const o = isJsonMap(obj) ? obj : {};
  const meta = isJsonMap(o.metadata) ? o.metadata : {};
  const spec = isJsonMap(o.spec) ? o.spec : {};
  const rules = (Array.isArray(spec.rules) ? (spec.rules as unknown[]) : []).map(
    (rule): HTTPRouteRule => {
      if (!isJsonMap(rule)) return { backendRefs: [] };
      const refs = Array.isArray(rule.backendRefs) ? (rule.backendRefs as unknown[]) : [];
      return { ...rule, backendRefs: refs.map(backendRefView) };
    },
  );
  const metadata: ObjectMeta = { name: typeof meta.name === 'string' ? meta.name : '' };
  const ns = typeof meta.namespace === 'string' ? meta.namespace : namespace;
  if (ns !== undefined) metadata.namespace = ns;
  if (typeof meta.generation === 'number') metadata.generation = meta.generation;
  const annotations = stringMap(meta.annotations);
  if (annotations) metadata.annotations = annotations;
  const status = isJsonMap(o.status) && Array.isArray(o.status.parents) ? o.status : undefined;
  return {
    metadata,
    spec: { ...spec, rules },
    ...(status ? { status: { parents: status.parents as unknown[] } } : {}),
  };
}

function backendRefView(r: unknown): HTTPBackendRef {
  if (!isJsonMap(r) || typeof r.name !== 'string') return { name: '', kind: '' };
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const view: HTTPBackendRef = { ...r, name: r.name };
  for (const key of ['group', 'kind', 'namespace'] as const) {
    const v = str(r[key]);
    if (v === undefined) delete view[key];
    else view[key] = v;
  }
  return view;
}

/** A backendRef that names no Service, for messages. */
function describeRef(ref: HTTPBackendRef): string {
  if (ref.name === '') return 'a backendRef without a name';
  const kind = ref.kind ?? 'Service';
  return `${ref.group ? `${ref.group}/` : ''}${kind} ${ref.name}`;
}

/** The Service a backendRef names, as namespace/name; undefined for other kinds. */
function serviceOf(ref: HTTPBackendRef, routeNamespace: string): string | undefined {
  if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service' || ref.name === '') {
    return undefined;
  }
  return `${ref.namespace ?? routeNamespace}/${ref.name}`;
}

/** A rule that splits between the primary and canary Services, by position. */
export interface SplitRule {
  /** Index in spec.rules. */
  index: number;
  primaryIndex: number;
  canaryIndex: number;
}

export type RuleCheck =
  | { ok: true; rules: SplitRule[]; weights: Weights; consistent: boolean }
  | { ok: false; message: string };

/** A backendRef's weight as Gateway API applies it, or why the API would refuse it. */
function weightOf(ref: HTTPBackendRef): number | string {
  const w = ref.weight;
  if (w === undefined) return DEFAULT_BACKEND_WEIGHT;
  if (typeof w !== 'number' || !Number.isInteger(w)) {
    return `weight ${JSON.stringify(w)} is not a whole number`;
  }
  if (w < 0 || w > MAX_BACKEND_WEIGHT) {
    return `weight ${w} is outside 0 to ${MAX_BACKEND_WEIGHT.toLocaleString('en-US')}`;
  }
  return w;
}

/** Relative weights as whole percents adding up to 100 (0/0 stays 0/0: nothing is routed). */
export function sharesOf(primary: number, canary: number): Weights {
  const total = primary + canary;
  if (total === 0) return { primary: 0, canary: 0 };
  const c = Math.round((canary * 100) / total);
  return { primary: 100 - c, canary: c };
}

/** The Services (namespace/name) the Rollout's hosts name, relative to the route's namespace. */
function hostServices(hosts: RouteHosts): { primary: string; canary: string } {
  const key = (h: string): string => {
    const s = serviceOfHost(h, hosts.namespace);
    return `${s.namespace}/${s.name}`;
  };
  return { primary: key(hosts.primary), canary: key(hosts.canary) };
}

interface RuleScan {
  rules: SplitRule[];
  sawPrimary: boolean;
  sawCanary: boolean;
}

/** The rules whose backendRefs are exactly the two Services; a message on a rule that mixes in others. */
function scanRules(
  route: HTTPRouteObject,
  where: string,
  hosts: RouteHosts,
  svc: { primary: string; canary: string },
): RuleScan | { message: string } {
  const ns = route.metadata.namespace ?? hosts.namespace;
  const scan: RuleScan = { rules: [], sawPrimary: false, sawCanary: false };
  for (const [index, rule] of (route.spec.rules ?? []).entries()) {
    const refs = rule.backendRefs ?? [];
    const services = refs.map((r) => serviceOf(r, ns));
    const primaryIndex = services.indexOf(svc.primary);
    const canaryIndex = services.indexOf(svc.canary);
    scan.sawPrimary ||= primaryIndex >= 0;
    scan.sawCanary ||= canaryIndex >= 0;
    if (primaryIndex < 0 || canaryIndex < 0) continue;
    const field = `${where} spec.rules[${index}].backendRefs`;
    const others = services
      .map((s, i) => s ?? describeRef(refs[i] as HTTPBackendRef))
      .filter((s) => s !== svc.primary && s !== svc.canary);
    if (others.length > 0) {
      return {
        message: `${field} also sends traffic to ${others.join(', ')}; the rule must have only the ${hosts.primary} and ${hosts.canary} backendRefs`,
      };
    }
    if (refs.length !== 2) {
      return {
        message: `${field} has ${refs.length} backendRefs; the rule must have exactly one ${hosts.primary} and one ${hosts.canary} backendRef`,
      };
    }
    for (const [i, side] of [
      [primaryIndex, hosts.primary],
      [canaryIndex, hosts.canary],
    ] as const) {
      const w = weightOf(refs[i] as HTTPBackendRef);
      if (typeof w === 'string') return { message: `${field}[${i}] (${side}): ${w}` };
    }
    scan.rules.push({ index, primaryIndex, canaryIndex });
  }
  return scan;
}

/** Why no rule splits between the two Services. */
function noSplitMessage(where: string, hosts: RouteHosts, scan: RuleScan): string {
  const missing = [!scan.sawPrimary && hosts.primary, !scan.sawCanary && hosts.canary]
    .filter(Boolean)
    .join(' and ');
  return missing
    ? `${where} has no backendRef to ${missing}`
    : `${where} has no single rule with both ${hosts.primary} and ${hosts.canary} as backendRefs`;
}

/**
 * Finds the rules whose backendRefs are exactly the primary and canary Services. Every
 * such rule is edited together, so header-matched and default rules agree.
 */
export function checkRules(route: HTTPRouteObject, hosts: RouteHosts): RuleCheck {
  const ns = route.metadata.namespace ?? hosts.namespace;
  const where = `HTTPRoute ${route.metadata.name}.${ns}`;
  const svc = hostServices({ ...hosts, namespace: ns });
  if (svc.primary === svc.canary) {
    return {
      ok: false,
      message: `the primary host ${hosts.primary} and the canary host ${hosts.canary} name the same Service ${svc.primary}`,
    };
  }
  if ((route.spec.rules ?? []).length === 0) {
    return { ok: false, message: `${where} has no rules` };
  }
  const scan = scanRules(route, where, { ...hosts, namespace: ns }, svc);
  if ('message' in scan) return { ok: false, message: scan.message };
  const [first, ...rest] = scan.rules;
  if (!first) return { ok: false, message: noSplitMessage(where, hosts, scan) };
  const weightsOf = (r: SplitRule): Weights => {
    const refs = route.spec.rules?.[r.index]?.backendRefs ?? [];
    const w = (i: number): number => {
      const v = weightOf(refs[i] as HTTPBackendRef);
      return typeof v === 'number' ? v : 0;
    };
    return sharesOf(w(r.primaryIndex), w(r.canaryIndex));
  };
  const weights = weightsOf(first);
  const consistent = rest.every((r) => {
    const w = weightsOf(r);
    return w.primary === weights.primary && w.canary === weights.canary;
  });
  return { ok: true, rules: scan.rules, weights, consistent };
}

/**
 * A JSON Patch setting the split rules' weights (as whole percents). Every edited rule is
 * guarded by a `test` of both backendRefs' names, so a concurrent reordering of the rules
 * (or of their backendRefs) fails the patch instead of changing the wrong backend. Nothing
 * else in the object is touched. Returns no operations when the weights already match.
 */
export function backendWeightPatch(
  route: HTTPRouteObject,
  rules: readonly SplitRule[],
  want: Weights,
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  for (const r of rules) {
    const refs = route.spec.rules?.[r.index]?.backendRefs;
    const primary = refs?.[r.primaryIndex];
    const canary = refs?.[r.canaryIndex];
    if (!primary || !canary) continue;
    if (primary.weight === want.primary && canary.weight === want.canary) continue;
    const base = `/spec/rules/${r.index}/backendRefs`;
    for (const [i, ref] of [
      [r.primaryIndex, primary],
      [r.canaryIndex, canary],
    ] as const) {
      ops.push({ op: 'test', path: `${base}/${i}/name`, value: ref.name });
    }
    for (const [i, ref, weight] of [
      [r.primaryIndex, primary, want.primary],
      [r.canaryIndex, canary, want.canary],
    ] as const) {
      if (ref.weight === weight) continue;
      ops.push({
        op: ref.weight === undefined ? 'add' : 'replace',
        path: `${base}/${i}/weight`,
        value: weight,
      });
    }
  }
  return ops;
}

/** The split's backendRefs into other namespaces, each needing a ReferenceGrant there. */
export function crossNamespaceRefs(route: HTTPRouteObject, hosts: RouteHosts): CrossNamespaceRef[] {
  const check = checkRules(route, hosts);
  if (!check.ok) return [];
  const ns = route.metadata.namespace ?? hosts.namespace;
  const out = new Map<string, CrossNamespaceRef>();
  for (const r of check.rules) {
    const refs = route.spec.rules?.[r.index]?.backendRefs ?? [];
    for (const i of [r.primaryIndex, r.canaryIndex]) {
      const ref = refs[i];
      if (!ref?.namespace || ref.namespace === ns) continue;
      const key = `${ref.namespace}/${ref.name}`;
      if (!out.has(key)) {
        out.set(key, {
          fromNamespace: ns,
          namespace: ref.namespace,
          name: ref.name,
          field: `spec.rules[${r.index}].backendRefs[${i}]`,
        });
      }
    }
  }
  return [...out.values()];
}

/** True when a ReferenceGrant (any value) lets HTTPRoutes of `ref.fromNamespace` use the Service. */
export function grantPermits(grant: unknown, ref: CrossNamespaceRef): boolean {
  if (!isJsonMap(grant) || !isJsonMap(grant.spec)) return false;
  const meta = isJsonMap(grant.metadata) ? grant.metadata : {};
  if (meta.namespace !== undefined && meta.namespace !== ref.namespace) return false;
  const list = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? (v as unknown[]).filter(isJsonMap) : [];
  const from = list(grant.spec.from).some(
    (f) =>
      f.group === GATEWAY_API_GROUP && f.kind === 'HTTPRoute' && f.namespace === ref.fromNamespace,
  );
  const to = list(grant.spec.to).some(
    (t) =>
      (t.group ?? '') === '' &&
      t.kind === 'Service' &&
      (t.name === undefined || t.name === '' || t.name === ref.name),
  );
  return from && to;
}

/**
 * A ResolvedRefs=False (RefNotPermitted) condition the Gateway implementation reports for
 * the route's current generation: the data plane refuses a cross-namespace backendRef.
 */
function refusedRefs(route: HTTPRouteObject): string | undefined {
  for (const parent of route.status?.parents ?? []) {
    if (!isJsonMap(parent) || !Array.isArray(parent.conditions)) continue;
    for (const c of parent.conditions as unknown[]) {
      if (!isJsonMap(c) || c.type !== 'ResolvedRefs' || c.status !== 'False') continue;
      if (c.reason !== 'RefNotPermitted') continue;
      const gen = route.metadata.generation;
      if (
        gen !== undefined &&
        typeof c.observedGeneration === 'number' &&
        c.observedGeneration !== gen
      )
        continue;
      return typeof c.message === 'string' && c.message !== '' ? c.message : 'RefNotPermitted';
    }
  }
  return undefined;
}

export const referenceGrants: GrantKind = {
  kind: 'ReferenceGrant',
  group: GATEWAY_API_GROUP,
  versions: REFERENCE_GRANT_VERSIONS,
  resource: 'referencegrants',
  needed: (route, hosts) => crossNamespaceRefs(httpRouteView(route, hosts.namespace), hosts),
  permits: (grants, ref) => grants.some((g) => grantPermits(g, ref)),
};

export const gatewayHTTPRoute: Router = {
  kind: 'HTTPRoute',
  group: GATEWAY_API_GROUP,
  versions: HTTP_ROUTE_VERSIONS,
  resource: 'httproutes',
  install: 'install the Gateway API CRDs (standard channel)',
  specField: 'httpRoute',
  grants: referenceGrants,
  read(route: unknown, hosts: RouteHosts): RouteState {
    const view = httpRouteView(route, hosts.namespace);
    const check = checkRules(view, hosts);
    if (!check.ok) return check;
    const refused = refusedRefs(view);
    const cross = refused === undefined ? [] : crossNamespaceRefs(view, hosts);
    const [ref] = cross;
    if (refused !== undefined && ref) {
      const where = `HTTPRoute ${view.metadata.name}.${view.metadata.namespace ?? hosts.namespace}`;
      return {
        ok: false,
        message: `${where} ${ref.field} names Service ${ref.namespace}/${ref.name} in another namespace, and the Gateway refuses it (${refused}); a ReferenceGrant in namespace ${ref.namespace} must allow HTTPRoutes of ${ref.fromNamespace} to use it`,
      };
    }
    return {
      ok: true,
      weights: check.weights,
      consistent: check.consistent,
      splits: check.rules.length,
    };
  },
  patch(route: unknown, hosts: RouteHosts, want: Weights): JsonPatchOp[] {
    const view = httpRouteView(route, hosts.namespace);
    const check = checkRules(view, hosts);
    return check.ok ? backendWeightPatch(view, check.rules, want) : [];
  },
  keepWeights(before: unknown, after: unknown, hosts: RouteHosts): JsonPatchOp[] {
    return keepWeightsWith(gatewayHTTPRoute, before, after, hosts);
  },
};
