// Istio DestinationRules, as far as subset routing goes: a VirtualService destination with
// `subset: canary` reaches the endpoints of its host whose pod labels carry every label of
// the subset named `canary` in a DestinationRule for that host. Several rules for one host
// merge, the oldest first (a subset name defined twice is the oldest rule's). A destination
// naming a subset that no rule defines has no cluster in Envoy: 503 with flag NC. Pure.

import { objectKey, type DestinationRule, type Subset } from './model.js';
import { field, isRecord, parseMeta, type Parsed } from './parse.js';

/** Validates a raw DestinationRule; one Istio's validation would reject is an error. */
export function parseDestinationRule(obj: unknown): Parsed<DestinationRule> {
  const meta = parseMeta(obj);
  if (!meta) return { ok: false, meta, error: 'metadata.name missing' };
  const host = field(obj, 'spec', 'host');
  if (typeof host !== 'string' || host === '') {
    return { ok: false, meta, error: 'spec.host: required' };
  }
  const raw = field(obj, 'spec', 'subsets') ?? [];
  if (!Array.isArray(raw)) return { ok: false, meta, error: 'spec.subsets: must be a list' };
  const subsets: Subset[] = [];
  for (const [i, s] of (raw as unknown[]).entries()) {
    const name = field(s, 'name');
    if (typeof name !== 'string' || name === '') {
      return { ok: false, meta, error: `spec.subsets[${i}].name: required` };
    }
    if (subsets.some((x) => x.name === name)) {
      return { ok: false, meta, error: `spec.subsets[${i}].name: duplicate subset ${name}` };
    }
    const rawLabels = field(s, 'labels');
    const labels: Record<string, string> = {};
    if (isRecord(rawLabels)) {
      for (const [k, v] of Object.entries(rawLabels)) if (typeof v === 'string') labels[k] = v;
    }
    subsets.push({ name, labels });
  }
  return { ok: true, value: { ...meta, host, subsets } };
}

/** Oldest first, then by namespace/name: the order in which Istio merges rules of one host. */
function olderFirst(a: DestinationRule, b: DestinationRule): number {
  if (a.creationTimestamp !== b.creationTimestamp) {
    if (a.creationTimestamp === '') return 1;
    if (b.creationTimestamp === '') return -1;
    return a.creationTimestamp < b.creationTimestamp ? -1 : 1;
  }
  return objectKey(a.namespace, a.name).localeCompare(objectKey(b.namespace, b.name));
}

/**
 * The rules of each Service (by key), oldest first. `serviceKey` resolves a rule's host
 * the way a destination host resolves (undefined: a host outside the cluster).
 */
export function indexDestinationRules(
  rules: Iterable<DestinationRule>,
  serviceKey: (host: string, namespace: string) => string | undefined,
): Map<string, DestinationRule[]> {
  const out = new Map<string, DestinationRule[]>();
  for (const r of rules) {
    const key = serviceKey(r.host, r.namespace);
    if (key === undefined) continue;
    const list = out.get(key) ?? [];
    list.push(r);
    out.set(key, list);
  }
  for (const list of out.values()) list.sort(olderFirst);
  return out;
}

/** The subset the merged rules of a Service define under `name`, if any. */
export function findSubset(
  rules: readonly DestinationRule[] | undefined,
  name: string,
): Subset | undefined {
  for (const r of rules ?? []) {
    const s = r.subsets.find((x) => x.name === name);
    if (s) return s;
  }
  return undefined;
}

/** `podinfo/primary=90` for a subset destination, `podinfo=90` otherwise (logs, admin). */
export function describeDestination(d: { host: string; subset?: string; weight: number }): string {
  return `${d.host}${d.subset !== undefined ? `/${d.subset}` : ''}=${d.weight}`;
}
