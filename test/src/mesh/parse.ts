// Validation at the Kubernetes boundary: raw objects (from a list or a watch event, typed
// as unknown) become the simulator's model. A VirtualService that Istio's validation would
// reject comes back as an error, so the router treats it as not configured.

import { faultsFromAnnotations } from './faults.js';
import type {
  Deployment,
  HttpMatch,
  HttpRoute,
  NamedMatch,
  ObjectMeta,
  RouteDestination,
  Service,
  StringMatch,
  VirtualService,
} from './model.js';

export type Parsed<T> =
  { ok: true; value: T } | { ok: false; meta: ObjectMeta | undefined; error: string };

type Check<T> = { ok: true; value: T } | { ok: false; error: string };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function field(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

function count(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

export function parseMeta(obj: unknown): ObjectMeta | undefined {
  const namespace = field(obj, 'metadata', 'namespace');
  const name = field(obj, 'metadata', 'name');
  if (typeof name !== 'string' || name === '') return undefined;
  const rv = field(obj, 'metadata', 'resourceVersion');
  const created = field(obj, 'metadata', 'creationTimestamp');
  return {
    namespace: typeof namespace === 'string' && namespace !== '' ? namespace : 'default',
    name,
    resourceVersion: typeof rv === 'string' ? rv : '',
    creationTimestamp:
      created instanceof Date ? created.toISOString() : typeof created === 'string' ? created : '',
  };
}

// ---- VirtualService -------------------------------------------------------------------

function parseStringMatch(raw: unknown, where: string): Check<StringMatch> {
  if (!isRecord(raw)) return { ok: false, error: `${where}: must be an object` };
  const keys = Object.keys(raw).filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (keys.length === 0) return { ok: true, value: { kind: 'present' } };
  if (keys.length > 1) return { ok: false, error: `${where}: only one of exact, prefix, regex` };
  const kind = keys[0] ?? '';
  const value = raw[kind];
  if (typeof value !== 'string') return { ok: false, error: `${where}.${kind}: must be a string` };
  if (kind === 'exact') return { ok: true, value: { kind: 'exact', value } };
  if (kind === 'prefix') return { ok: true, value: { kind: 'prefix', value } };
  if (kind === 'regex') {
    try {
      // Envoy's safe_regex matches the whole value.
      return { ok: true, value: { kind: 'regex', value, regex: new RegExp(`^(?:${value})$`) } };
    } catch {
      return { ok: false, error: `${where}.regex: invalid regular expression ${value}` };
    }
  }
  return { ok: false, error: `${where}: unknown match kind ${kind}` };
}

function parseNamedMatches(raw: unknown, where: string): Check<NamedMatch[]> {
  if (raw === undefined || raw === null) return { ok: true, value: [] };
  if (!isRecord(raw)) return { ok: false, error: `${where}: must be a map` };
  const out: NamedMatch[] = [];
  for (const [name, m] of Object.entries(raw)) {
    const checked = parseStringMatch(m, `${where}.${name}`);
    if (!checked.ok) return checked;
    out.push({ name: name.toLowerCase(), match: checked.value });
  }
  return { ok: true, value: out };
}

function parseHttpMatch(raw: unknown, where: string): Check<HttpMatch> {
  if (!isRecord(raw)) return { ok: false, error: `${where}: must be an object` };
  const single: Partial<Record<'uri' | 'method' | 'authority', StringMatch>> = {};
  for (const key of ['uri', 'method', 'authority'] as const) {
    if (raw[key] === undefined || raw[key] === null) continue;
    const checked = parseStringMatch(raw[key], `${where}.${key}`);
    if (!checked.ok) return checked;
    single[key] = checked.value;
  }
  const headers = parseNamedMatches(raw['headers'], `${where}.headers`);
  if (!headers.ok) return headers;
  const withoutHeaders = parseNamedMatches(raw['withoutHeaders'], `${where}.withoutHeaders`);
  if (!withoutHeaders.ok) return withoutHeaders;
  const queryParams = parseNamedMatches(raw['queryParams'], `${where}.queryParams`);
  if (!queryParams.ok) return queryParams;
  return {
    ok: true,
    value: {
      ...single,
      headers: headers.value,
      withoutHeaders: withoutHeaders.value,
      queryParams: queryParams.value,
      ignoreUriCase: raw['ignoreUriCase'] === true,
    },
  };
}

function parseDestinations(raw: unknown, where: string): Check<RouteDestination[]> {
  if (!Array.isArray(raw)) return { ok: false, error: `${where}: must be a list` };
  const parsed: { host: string; subset?: string; port?: number; weight?: number }[] = [];
  for (const [i, entry] of raw.entries()) {
    const at = `${where}[${i}]`;
    const host = field(entry, 'destination', 'host');
    if (typeof host !== 'string' || host === '') {
      return { ok: false, error: `${at}.destination.host: required` };
    }
    const weight = field(entry, 'weight');
    if (weight !== undefined && weight !== null) {
      if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0) {
        return { ok: false, error: `${at}.weight: must be a non-negative integer` };
      }
    }
    const subset = field(entry, 'destination', 'subset');
    const port = field(entry, 'destination', 'port', 'number');
    parsed.push({
      host,
      ...(typeof subset === 'string' && subset !== '' ? { subset } : {}),
      ...(typeof port === 'number' ? { port } : {}),
      ...(typeof weight === 'number' ? { weight } : {}),
    });
  }
  if (parsed.length === 1) {
    const only = parsed[0];
    return only === undefined
      ? { ok: true, value: [] }
      : { ok: true, value: [{ ...only, weight: 100 }] };
  }
  const total = parsed.reduce((sum, d) => sum + (d.weight ?? 0), 0);
  if (total !== 100) {
    return { ok: false, error: `${where}: total destination weight ${total} != 100` };
  }
  return { ok: true, value: parsed.map((d) => ({ ...d, weight: d.weight ?? 0 })) };
}

function parseHttpRoute(raw: unknown, where: string): Check<HttpRoute> {
  if (!isRecord(raw)) return { ok: false, error: `${where}: must be an object` };
  const matches: HttpMatch[] = [];
  const rawMatch = raw['match'];
  if (rawMatch !== undefined && rawMatch !== null) {
    if (!Array.isArray(rawMatch)) return { ok: false, error: `${where}.match: must be a list` };
    for (const [i, m] of rawMatch.entries()) {
      const checked = parseHttpMatch(m, `${where}.match[${i}]`);
      if (!checked.ok) return checked;
      matches.push(checked.value);
    }
  }
  const name = typeof raw['name'] === 'string' ? raw['name'] : undefined;
  const route = raw['route'];
  if (route === undefined || route === null || (Array.isArray(route) && route.length === 0)) {
    if (raw['redirect'] || raw['directResponse'] || raw['delegate']) {
      return { ok: true, value: { ...(name ? { name } : {}), matches, destinations: [] } };
    }
    return { ok: false, error: `${where}: needs route, redirect or directResponse` };
  }
  const destinations = parseDestinations(route, `${where}.route`);
  if (!destinations.ok) return destinations;
  return {
    ok: true,
    value: { ...(name ? { name } : {}), matches, destinations: destinations.value },
  };
}

export function parseVirtualService(obj: unknown): Parsed<VirtualService> {
  const meta = parseMeta(obj);
  if (!meta) return { ok: false, meta, error: 'metadata.name missing' };
  const fail = (error: string): Parsed<VirtualService> => ({ ok: false, meta, error });
  const spec = field(obj, 'spec');
  if (!isRecord(spec)) return fail('spec missing');
  const hosts = spec['hosts'];
  if (!Array.isArray(hosts) || hosts.length === 0) return fail('spec.hosts: at least one host');
  const cleanHosts: string[] = [];
  for (const h of hosts) {
    if (typeof h !== 'string' || h === '') return fail('spec.hosts: entries must be strings');
    cleanHosts.push(h.toLowerCase());
  }
  const http: HttpRoute[] = [];
  const rawHttp = spec['http'];
  if (rawHttp !== undefined && rawHttp !== null) {
    if (!Array.isArray(rawHttp)) return fail('spec.http: must be a list');
    for (const [i, r] of rawHttp.entries()) {
      const checked = parseHttpRoute(r, `spec.http[${i}]`);
      if (!checked.ok) return fail(checked.error);
      http.push(checked.value);
    }
  }
  return { ok: true, value: { ...meta, hosts: cleanHosts, http } };
}

// ---- Service and Deployment -----------------------------------------------------------

export function parseService(obj: unknown): Parsed<Service> {
  const meta = parseMeta(obj);
  if (!meta) return { ok: false, meta, error: 'metadata.name missing' };
  const type = field(obj, 'spec', 'type');
  const rawSelector = field(obj, 'spec', 'selector');
  const selector = stringMap(rawSelector);
  const hasSelector = type !== 'ExternalName' && Object.keys(selector).length > 0;
  return { ok: true, value: { ...meta, selector: hasSelector ? selector : undefined } };
}

/** cyrb53: a small, well-mixed 53-bit string hash. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Characters Kubernetes uses for generated name suffixes (no vowels, no look-alikes). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function safeEncode(text: string, length: number): string {
  let n = hash53(text);
  let out = '';
  for (let i = 0; i < length; i++) {
    out += SAFE_ALPHABET[n % SAFE_ALPHABET.length] ?? 'x';
    n = Math.floor(n / SAFE_ALPHABET.length);
    if (n === 0) n = hash53(`${text}#${i}`);
  }
  return out;
}

function sortedEntries(map: Readonly<Record<string, string>>): string {
  return Object.keys(map)
    .sort()
    .map((k) => `${k}=${map[k] ?? ''}`)
    .join(',');
}

export function parseDeployment(obj: unknown): Parsed<Deployment> {
  const meta = parseMeta(obj);
  if (!meta) return { ok: false, meta, error: 'metadata.name missing' };
  const template = field(obj, 'spec', 'template');
  const podLabels = stringMap(field(template, 'metadata', 'labels'));
  const podAnnotations = stringMap(field(template, 'metadata', 'annotations'));
  const containers = field(template, 'spec', 'containers');
  const first: unknown = Array.isArray(containers) ? containers[0] : undefined;
  const image = field(first, 'image');
  const env: Record<string, string> = {};
  const rawEnv = field(first, 'env');
  if (Array.isArray(rawEnv)) {
    for (const e of rawEnv) {
      const name = field(e, 'name');
      const value = field(e, 'value');
      if (typeof name === 'string' && typeof value === 'string') env[name] = value;
    }
  }
  const imageText = typeof image === 'string' ? image : '';
  const { profile, warnings } = faultsFromAnnotations(podAnnotations);
  return {
    ok: true,
    value: {
      ...meta,
      podLabels,
      podAnnotations,
      image: imageText,
      env,
      replicas: count(field(obj, 'spec', 'replicas'), 1),
      readyReplicas: count(field(obj, 'status', 'readyReplicas'), 0),
      availableReplicas: count(field(obj, 'status', 'availableReplicas'), 0),
      templateHash: safeEncode(
        [
          imageText,
          sortedEntries(podLabels),
          sortedEntries(podAnnotations),
          sortedEntries(env),
        ].join('\n'),
        10,
      ),
      faults: profile,
      faultWarnings: warnings,
    },
  };
}
