// Istio subset routing: a VirtualService route whose two destinations name subsets of one
// Service (`subset: primary`, `subset: canary`), and the DestinationRule that defines them,
// each subset by the pod labels that pick its endpoints among the Service's. A Rollout
// routed to subsets needs both subsets defined, each selecting its own Deployment's pods
// and none of the other's: otherwise a side's share reaches the wrong pods, or no pods.
// Pure: the objects come in as any values (cache entries, an admission lookup's list).

import { serviceOfHost } from '../hosts.js';
import { isJsonMap } from '../json.js';
import type { SubsetKind, SubsetProblem, SubsetSide } from './router.js';

export const DESTINATION_RULE_VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;

export interface Subset {
  name: string;
  labels: Record<string, string>;
  /** Where it is: the DestinationRule and its index in spec.subsets. */
  rule: string;
  index: number;
}

export interface DestinationRuleView {
  name: string;
  namespace: string;
  /** spec.host as written. */
  host: string;
  creationTimestamp: string;
  subsets: Subset[];
}

/** Names an object of a namespace the way the caller's messages do ("podinfo.test"). */
export type Qualify = (name: string, namespace: string) => string;

function stringMap(v: unknown): Record<string, string> {
  if (!isJsonMap(v)) return {};
  return Object.fromEntries(
    Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/** A DestinationRule read from any value; undefined when it has no name or host. */
export function destinationRuleView(
  obj: unknown,
  q: Qualify = (n, ns) => `${n}.${ns}`,
): DestinationRuleView | undefined {
  if (!isJsonMap(obj) || !isJsonMap(obj.metadata) || !isJsonMap(obj.spec)) return undefined;
  const { metadata, spec } = obj;
  if (typeof metadata.name !== 'string' || typeof spec.host !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
  const rule = q(metadata.name, namespace);
  const subsets: Subset[] = [];
  for (const [index, s] of (Array.isArray(spec.subsets)
    ? (spec.subsets as unknown[])
    : []
  ).entries()) {
    if (!isJsonMap(s) || typeof s.name !== 'string') continue;
    subsets.push({ name: s.name, labels: stringMap(s.labels), rule, index });
  }
  return {
    name: metadata.name,
    namespace,
    host: spec.host,
    creationTimestamp:
      typeof metadata.creationTimestamp === 'string' ? metadata.creationTimestamp : '',
    subsets,
  };
}

/**
 * The Service (namespace and name) a DestinationRule's host names; undefined for a host
 * outside the cluster or a wildcard. Short hosts resolve in the rule's namespace.
 */
export function serviceOfRule(
  rule: Pick<DestinationRuleView, 'host' | 'namespace'>,
): { namespace: string; name: string } | undefined {
  const [name, ns, svc, ...domain] = rule.host.split('.');
  if (rule.host.includes('*') || name === undefined || name === '') return undefined;
  if (ns === undefined) return { namespace: rule.namespace, name };
  if (ns === '') return undefined;
  if (svc === undefined) return { namespace: ns, name };
  if (svc !== 'svc' || (domain.length > 0 && domain.join('.') !== 'cluster.local')) {
    return undefined;
  }
  return { namespace: ns, name };
}

/**
 * The DestinationRules of the Service's namespace whose host names it, oldest first (the
 * order in which Istio merges several rules for one host: a subset name defined twice is
 * the oldest rule's).
 */
export function rulesForService(
  objects: readonly unknown[],
  service: { namespace: string; name: string },
  q?: Qualify,
): DestinationRuleView[] {
  const out: DestinationRuleView[] = [];
  for (const o of objects) {
    const view = destinationRuleView(o, q);
    if (!view || view.namespace !== service.namespace) continue;
    const s = serviceOfRule(view);
    if (s?.namespace === service.namespace && s.name === service.name) out.push(view);
  }
  return out.sort((a, b) =>
    a.creationTimestamp !== b.creationTimestamp
      ? a.creationTimestamp < b.creationTimestamp
        ? -1
        : 1
      : a.name < b.name
        ? -1
        : 1,
  );
}

/** The subset the merged rules define under `name` (the oldest rule's), if any. */
export function findSubset(
  rules: readonly DestinationRuleView[],
  name: string,
): Subset | undefined {
  for (const r of rules) {
    const s = r.subsets.find((x) => x.name === name);
    if (s) return s;
  }
  return undefined;
}

const asList = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** True when pods with `podLabels` carry every label of `labels` (no labels: every pod). */
function matches(labels: Record<string, string>, podLabels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => podLabels[k] === v);
}

const other = (role: SubsetSide['role']): SubsetSide['role'] =>
  role === 'primary' ? 'canary' : 'primary';

/** The problems of one side's subset, once its rules are known. */
function sideProblems(
  namespace: string,
  side: SubsetSide,
  opposite: SubsetSide | undefined,
  rules: readonly DestinationRuleView[],
  q: Qualify,
): SubsetProblem[] {
  const field = `spec.${side.role}.subset`;
  const subset = findSubset(rules, side.subset);
  if (!subset) {
    const defined = [...new Set(rules.flatMap((r) => r.subsets.map((s) => s.name)))];
    const names = rules.map((r) => q(r.name, r.namespace)).join(', ');
    const where = `${rules.length === 1 ? 'DestinationRule' : 'DestinationRules'} ${names}`;
    return [
      {
        kind: 'invalid',
        message: `${where} (host ${side.host}) spec.subsets has no subset "${side.subset}" (${field}); it defines ${defined.length > 0 ? defined.map((n) => `"${n}"`).join(', ') : 'none'}`,
      },
    ];
  }
  const at = `DestinationRule ${subset.rule} spec.subsets[${subset.index}] (subset "${subset.name}", ${field})`;
  const problems: SubsetProblem[] = [];
  const deployment = q(side.deployment, namespace);
  if (side.podLabels && !matches(subset.labels, side.podLabels)) {
    problems.push({
      kind: 'invalid',
      message: `${at} labels ${asList(subset.labels)} do not match the pod template labels of Deployment ${deployment}: the ${side.role}'s share of traffic would reach none of its pods`,
    });
  }
  if (opposite?.podLabels && matches(subset.labels, opposite.podLabels)) {
    const what =
      Object.keys(subset.labels).length === 0
        ? 'has no labels, so it selects every pod of the Service'
        : `labels ${asList(subset.labels)} match the pod template labels of Deployment ${q(opposite.deployment, namespace)}`;
    const effect =
      side.role === 'primary'
        ? "part of the primary's traffic would reach the canary's pods, beyond the canary's weight"
        : "part of the canary's traffic would reach the primary's pods, unseen by the canary's checks";
    problems.push({
      kind: 'invalid',
      message: `${at} selects the ${other(side.role)}'s pods too: its ${what}; ${effect}. Give the two Deployments' pods a label that tells them apart and use it in the subsets`,
    });
  }
  const selector = side.serviceSelector;
  if (side.podLabels && selector && Object.keys(selector).length > 0) {
    if (!matches(selector, side.podLabels)) {
      const svc = serviceOfHost(side.host, namespace);
      problems.push({
        kind: 'invalid',
        message: `Service ${q(svc.name, svc.namespace)} (spec.${side.role}.host) does not select the ${side.role}'s pods: its selector ${asList(selector)} does not match the pod template labels of Deployment ${deployment}, so subset "${side.subset}" has no endpoints`,
      });
    }
  }
  return problems;
}

/**
 * Every problem of the sides' subsets: no DestinationRule for a side's host, a subset it
 * does not define, subset labels that miss the side's pods or select the other side's, a
 * Service that does not select the side's pods. `objects` are the DestinationRules (any
 * values) of the hosts' namespaces; `namespace` is the Rollout's (the Deployments').
 */
export function subsetProblems(
  namespace: string,
  objects: readonly unknown[],
  sides: readonly SubsetSide[],
  q: Qualify = (n, ns) => `${n}.${ns}`,
): SubsetProblem[] {
  const problems: SubsetProblem[] = [];
  const reported = new Set<string>();
  for (const side of sides) {
    const svc = serviceOfHost(side.host, namespace);
    const rules = rulesForService(objects, svc, q);
    if (rules.length === 0) {
      const key = `${svc.namespace}/${svc.name}`;
      if (reported.has(key)) continue;
      reported.add(key);
      const fields = sides
        .filter((s) => {
          const o = serviceOfHost(s.host, namespace);
          return o.namespace === svc.namespace && o.name === svc.name;
        })
        .map((s) => `spec.${s.role}.subset "${s.subset}"`);
      problems.push({
        kind: 'missing',
        message: `no DestinationRule in namespace ${svc.namespace} has host ${side.host} (Service ${q(svc.name, svc.namespace)}) to define the subsets ${fields.join(' and ')} name`,
      });
      continue;
    }
    const opposite = sides.find((s) => s.role === other(side.role));
    problems.push(...sideProblems(namespace, side, opposite, rules, q));
  }
  return problems;
}

export const destinationRuleSubsets: SubsetKind = {
  kind: 'DestinationRule',
  group: 'networking.istio.io',
  versions: DESTINATION_RULE_VERSIONS,
  resource: 'destinationrules',
  install: "install Istio's CRDs (networking.istio.io)",
  check: subsetProblems,
  serviceOf(object: unknown) {
    const view = destinationRuleView(object);
    return view ? serviceOfRule(view) : undefined;
  },
};
