// Gateway API objects (gateway.networking.k8s.io) at the Kubernetes boundary: HTTPRoutes,
// Gateways and ReferenceGrants, typed as unknown, become the simulator's model with the
// API's defaults applied (what the CRD's defaulting would have filled in: a rule without
// matches matches PathPrefix `/`, a match without a path too, an absent weight is 1, an
// absent parentRef/backendRef namespace is the route's). The API server already validated
// them against the CRD schema, so only what would break the router is an error here.

import {
  ALLOWED_ROUTES_FROM,
  PATH_MATCH_TYPES,
  type AllowedRoutesFrom,
  type BackendRef,
  type GatewayListener,
  type HTTPRoute,
  type HttpRouteRule,
  type KubeGateway,
  type NamedMatch,
  type ParentRef,
  type PathMatch,
  type PathMatchType,
  type ReferenceGrant,
  type RouteMatch,
  type StringMatch,
} from './model.js';
import { field, isRecord, parseMeta, type Parsed } from './parse.js';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

type Check<T> = { ok: true; value: T } | { ok: false; error: string };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const nonEmpty = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;
const int = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) ? v : undefined;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);

/** Anchored like Envoy's safe_regex (RE2 full match); JavaScript syntax stands in for RE2. */
function fullRegex(value: string, where: string): Check<RegExp> {
  try {
    return { ok: true, value: new RegExp(`^(?:${value})$`) };
  } catch {
    return { ok: false, error: `${where}: invalid regular expression ${value}` };
  }
}

// ---- HTTPRoute ------------------------------------------------------------------------

export const ROOT_PREFIX: PathMatch = { type: 'PathPrefix', value: '/' };

function parsePath(raw: unknown, where: string): Check<PathMatch> {
  if (raw === undefined || raw === null) return { ok: true, value: ROOT_PREFIX };
  if (!isRecord(raw)) return { ok: false, error: `${where}: must be an object` };
  const type = str(raw['type']) ?? 'PathPrefix';
  if (!(PATH_MATCH_TYPES as readonly string[]).includes(type)) {
    return { ok: false, error: `${where}.type: unknown path match type ${type}` };
  }
  const value = str(raw['value']) ?? '/';
  switch (type as PathMatchType) {
    case 'Exact':
      return { ok: true, value: { type: 'Exact', value } };
    case 'PathPrefix': {
      // Element-wise prefix: a trailing slash means nothing (`/admin/` is `/admin`).
      const trimmed = value.length > 1 ? value.replace(/\/+$/, '') : value;
      return { ok: true, value: { type: 'PathPrefix', value: trimmed === '' ? '/' : trimmed } };
    }
    case 'RegularExpression': {
      const regex = fullRegex(value, `${where}.value`);
      if (!regex.ok) return regex;
      return { ok: true, value: { type: 'RegularExpression', value, regex: regex.value } };
    }
  }
}

/** Gateway API header and query parameter matches: type Exact (default) or RegularExpression. */
function parseValueMatches(raw: unknown, where: string, lowerCase: boolean): Check<NamedMatch[]> {
  const out: NamedMatch[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of list(raw).entries()) {
    const at = `${where}[${i}]`;
    const rawName = nonEmpty(field(entry, 'name'));
    const value = str(field(entry, 'value'));
    if (rawName === undefined || value === undefined) {
      return { ok: false, error: `${at}: name and value are required` };
    }
    const name = lowerCase ? rawName.toLowerCase() : rawName;
    // "Subsequent entries with an equivalent name MUST be ignored."
    if (seen.has(name)) continue;
    seen.add(name);
    const type = str(field(entry, 'type')) ?? 'Exact';
    let match: StringMatch;
    if (type === 'Exact') match = { kind: 'exact', value };
    else if (type === 'RegularExpression') {
      const regex = fullRegex(value, `${at}.value`);
      if (!regex.ok) return regex;
      match = { kind: 'regex', value, regex: regex.value };
    } else return { ok: false, error: `${at}.type: unknown match type ${type}` };
    out.push({ name, match });
  }
  return { ok: true, value: out };
}

function parseRouteMatch(raw: unknown, where: string): Check<RouteMatch> {
  if (!isRecord(raw)) return { ok: false, error: `${where}: must be an object` };
  const path = parsePath(raw['path'], `${where}.path`);
  if (!path.ok) return path;
  const headers = parseValueMatches(raw['headers'], `${where}.headers`, true);
  if (!headers.ok) return headers;
  const queryParams = parseValueMatches(raw['queryParams'], `${where}.queryParams`, false);
  if (!queryParams.ok) return queryParams;
  const method = nonEmpty(raw['method']);
  return {
    ok: true,
    value: {
      path: path.value,
      headers: headers.value,
      queryParams: queryParams.value,
      ...(method !== undefined ? { method } : {}),
    },
  };
}

function parseBackendRef(raw: unknown, routeNamespace: string): BackendRef {
  const weight = int(field(raw, 'weight'));
  const port = int(field(raw, 'port'));
  return {
    group: str(field(raw, 'group')) ?? '',
    kind: nonEmpty(field(raw, 'kind')) ?? 'Service',
    name: str(field(raw, 'name')) ?? '',
    namespace: nonEmpty(field(raw, 'namespace')) ?? routeNamespace,
    ...(port !== undefined ? { port } : {}),
    weight: weight === undefined ? 1 : Math.max(0, weight),
  };
}

/**
 * Filters the simulator does not act on are ignored (header modifiers, URL rewrites,
 * mirrors, CORS: the workload answers the same either way). A redirect answers without a
 * backend, which is not simulated: the rule is marked unsupported.
 */
function unsupportedFilter(filters: unknown): string | undefined {
  for (const f of list(filters)) {
    const type = str(field(f, 'type'));
    if (type === 'RequestRedirect') return 'RequestRedirect filter (redirects are not simulated)';
  }
  return undefined;
}

function parseRule(raw: unknown, where: string, routeNamespace: string): Check<HttpRouteRule> {
  if (!isRecord(raw)) return { ok: false, error: `${where}: must be an object` };
  const matches: RouteMatch[] = [];
  for (const [i, m] of list(raw['matches']).entries()) {
    const checked = parseRouteMatch(m, `${where}.matches[${i}]`);
    if (!checked.ok) return checked;
    matches.push(checked.value);
  }
  if (matches.length === 0) matches.push({ path: ROOT_PREFIX, headers: [], queryParams: [] });
  const name = nonEmpty(raw['name']);
  const unsupported = unsupportedFilter(raw['filters']);
  return {
    ok: true,
    value: {
      ...(name !== undefined ? { name } : {}),
      matches,
      backendRefs: list(raw['backendRefs']).map((b) => parseBackendRef(b, routeNamespace)),
      ...(unsupported !== undefined ? { unsupported } : {}),
    },
  };
}

function parseParentRef(raw: unknown, routeNamespace: string): ParentRef | undefined {
  const name = nonEmpty(field(raw, 'name'));
  if (name === undefined) return undefined;
  const sectionName = nonEmpty(field(raw, 'sectionName'));
  const port = int(field(raw, 'port'));
  return {
    group: str(field(raw, 'group')) ?? GATEWAY_API_GROUP,
    kind: nonEmpty(field(raw, 'kind')) ?? 'Gateway',
    namespace: nonEmpty(field(raw, 'namespace')) ?? routeNamespace,
    name,
    ...(sectionName !== undefined ? { sectionName } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

export function parseHttpRoute(obj: unknown): Parsed<HTTPRoute> {
  const meta = parseMeta(obj);
  if (!meta) return { ok: false, meta, error: 'metadata.name missing' };
  const fail = (error: string): Parsed<HTTPRoute> => ({ ok: false, meta, error });
  const spec = field(obj, 'spec');
  if (!isRecord(spec)) return fail('spec missing');
  const parentRefs = list(spec['parentRefs'])
    .map((p) => parseParentRef(p, meta.namespace))
    .filter((p): p is ParentRef => p !== undefined);
  const hostnames: string[] = [];
  for (const h of list(spec['hostnames'])) {
    if (typeof h !== 'string' || h === '') return fail('spec.hostnames: entries must be strings');
    hostnames.push(h.toLowerCase());
  }
  const rules: HttpRouteRule[] = [];
  for (const [i, r] of list(spec['rules']).entries()) {
    const checked = parseRule(r, `spec.rules[${i}]`, meta.namespace);
    if (!checked.ok) return fail(checked.error);
    rules.push(checked.value);
  }
  // The CRD defaults an absent rules list to one rule matching PathPrefix `/` with no backend.
  if (!Array.isArray(spec['rules'])) {
    rules.push({ matches: [{ path: ROOT_PREFIX, headers: [], queryParams: [] }], backendRefs: [] });
  }
  return { ok: true, value: { ...meta, parentRefs, hostnames, rules } };
}

/** `split: shop=80,shop-canary=20` per rule (`#1` when unnamed), for logs and admin state. */
export function describeHttpRouteRules(route: HTTPRoute): string[] {
  return route.rules.map(
    (r, i) =>
      `${r.name ?? `#${i}`}: ${r.backendRefs
        .map(
          (b) =>
            `${b.namespace === route.namespace ? b.name : `${b.namespace}/${b.name}`}=${b.weight}`,
        )
        .join(',')}`,
  );
}

// ---- Gateway --------------------------------------------------------------------------

function parseListener(raw: unknown): GatewayListener | undefined {
  const name = nonEmpty(field(raw, 'name'));
  const port = int(field(raw, 'port'));
  const protocol = nonEmpty(field(raw, 'protocol'));
  if (name === undefined || port === undefined || protocol === undefined) return undefined;
  const hostname = nonEmpty(field(raw, 'hostname'));
  const from = str(field(raw, 'allowedRoutes', 'namespaces', 'from')) ?? 'Same';
  const rawKinds = field(raw, 'allowedRoutes', 'kinds');
  return {
    name,
    port,
    protocol,
    ...(hostname !== undefined ? { hostname: hostname.toLowerCase() } : {}),
    allowedFrom: (ALLOWED_ROUTES_FROM as readonly string[]).includes(from)
      ? (from as AllowedRoutesFrom)
      : 'Same',
    ...(Array.isArray(rawKinds)
      ? {
          allowedKinds: list(rawKinds).map((k) => ({
            group: str(field(k, 'group')) ?? GATEWAY_API_GROUP,
            kind: str(field(k, 'kind')) ?? '',
          })),
        }
      : {}),
  };
}

export function parseGateway(obj: unknown): Parsed<KubeGateway> {
  const meta = parseMeta(obj);
  if (!meta) return { ok: false, meta, error: 'metadata.name missing' };
  const spec = field(obj, 'spec');
  if (!isRecord(spec)) return { ok: false, meta, error: 'spec missing' };
  return {
    ok: true,
    value: {
      ...meta,
      gatewayClassName: str(spec['gatewayClassName']) ?? '',
      listeners: list(spec['listeners'])
        .map(parseListener)
        .filter((l): l is GatewayListener => l !== undefined),
    },
  };
}

// ---- ReferenceGrant -------------------------------------------------------------------

export function parseReferenceGrant(obj: unknown): Parsed<ReferenceGrant> {
  const meta = parseMeta(obj);
  if (!meta) return { ok: false, meta, error: 'metadata.name missing' };
  const spec = field(obj, 'spec');
  if (!isRecord(spec)) return { ok: false, meta, error: 'spec missing' };
  return {
    ok: true,
    value: {
      ...meta,
      from: list(spec['from']).map((f) => ({
        group: str(field(f, 'group')) ?? '',
        kind: str(field(f, 'kind')) ?? '',
        namespace: str(field(f, 'namespace')) ?? '',
      })),
      to: list(spec['to']).map((t) => {
        const name = nonEmpty(field(t, 'name'));
        return {
          group: str(field(t, 'group')) ?? '',
          kind: str(field(t, 'kind')) ?? '',
          ...(name !== undefined ? { name } : {}),
        };
      }),
    },
  };
}
