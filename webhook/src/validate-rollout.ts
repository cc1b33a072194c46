// Validating admission of Rollouts: what the CRD schema cannot say. A Rollout that cannot
// work is refused at `kubectl apply` time with a precise message (every bad field; the other
// Rollout that already owns a Deployment or Service; the host a route object lacks; a
// Service that selects the other side's pods; a DestinationRule subset that is missing or
// selects the wrong pods; an HTTPRoute backendRef into another namespace that no
// ReferenceGrant permits), and
// one that only waits for objects not created yet is admitted with a warning saying so.

import {
  ANNOTATIONS,
  errorMessage,
  fqdn,
  formatFieldErrors,
  isJsonMap,
  jsonEqual,
  parseRequest,
  rolloutRefs,
  routeHostsOf,
  routerFor,
  selectorOverlapMessage,
  selectorOverlaps,
  serviceOfHost,
  serviceProblem,
  validateRolloutSpec,
} from '@steerer/common';
import type {
  CrossNamespaceRef,
  Deployment,
  FieldError,
  KubeObject,
  Role,
  RolloutObject,
  RolloutSpec,
  Router,
  SelectorSide,
  Service,
  SubsetSide,
} from '@steerer/common';
import { allow, deny } from './admission.js';
import type { AdmissionRequest, Reviewed } from './admission.js';
import type { Lookup } from './lookup.js';

export type Found<T> =
  { state: 'found'; object: T } | { state: 'missing' } | { state: 'unknown'; error: string };

export interface RolloutFacts {
  /** The other Rollouts of the namespace. */
  others: readonly RolloutObject[];
  primary: Found<Deployment>;
  canary: Found<Deployment>;
  primaryService: Found<Service>;
  canaryService: Found<Service>;
  /** The route object the spec names. */
  route: Found<KubeObject>;
  /**
   * The route's references into other namespaces (Gateway API backendRefs) and, for each,
   * whether a grant there permits it; empty when it makes none (or for Istio).
   */
  grants: GrantCheck[];
  /**
   * Istio subset routing (a spec naming subsets, its route object found): the objects that
   * define subsets (DestinationRules) in the namespaces of the sides' hosts.
   */
  subsetRules?: Found<readonly unknown[]>;
}

export interface GrantCheck {
  ref: CrossNamespaceRef;
  /** Permitted, or not; unknown when the grants could not be read. */
  permitted: boolean | { unknown: string };
}

/** A Rollout write that needs checking, and its spec as validated. */
export interface RolloutTarget {
  namespace: string;
  name: string;
  spec: ReturnType<typeof validateRolloutSpec>;
}

const REQUEST_FIELD = `metadata.annotations[${ANNOTATIONS.request}]`;

/** A manual request annotation Steerer does not know, as a field error. */
function requestProblem(metadata: Record<string, unknown>): FieldError | undefined {
  const annotations = isJsonMap(metadata.annotations) ? metadata.annotations : {};
  const value = annotations[ANNOTATIONS.request];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return { field: REQUEST_FIELD, message: 'must be a string' };
  const parsed = parseRequest(value);
  return parsed.ok ? undefined : { field: REQUEST_FIELD, message: parsed.message };
}

/** Why a write skips validation, or the malformed request that refuses it. */
export type RolloutSkip = { skip: string; request?: FieldError };

export function rolloutTarget(
  req: AdmissionRequest,
  options: { scrapeIntervalMs?: number | undefined } = {},
): RolloutTarget | RolloutSkip {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE')
    return { skip: `${req.operation} is not checked` };
  if (req.subResource) return { skip: `subresource ${req.subResource} is not checked` };
  const obj = req.object ?? {};
  const metadata = isJsonMap(obj.metadata) ? obj.metadata : {};
  if (metadata.deletionTimestamp) return { skip: 'being deleted' };
  const request = requestProblem(metadata);
  if (request) return { skip: '', request };
  if (req.operation === 'UPDATE' && jsonEqual(req.oldObject?.spec, obj.spec)) {
    return { skip: 'spec unchanged' };
  }
  const name = req.name ?? (typeof metadata.name === 'string' ? metadata.name : '');
  const namespace =
    req.namespace ?? (typeof metadata.namespace === 'string' ? metadata.namespace : 'default');
  const spec = validateRolloutSpec(obj.spec, {
    namespace,
    scrapeIntervalMs: options.scrapeIntervalMs,
  });
  return { namespace, name, spec };
}

async function found<T>(p: Promise<T | undefined>): Promise<Found<T>> {
  try {
    const object = await p;
    return object === undefined ? { state: 'missing' } : { state: 'found', object };
  } catch (e) {
    return { state: 'unknown', error: errorMessage(e) };
  }
}

/** Reads, in parallel, everything validateRollout looks at. */
export async function rolloutFacts(
  ns: string,
  name: string,
  spec: RolloutSpec,
  lookup: Lookup,
): Promise<RolloutFacts> {
  const svc = (host: string): Promise<Found<Service>> => {
    const ref = serviceOfHost(host, ns);
    return found(lookup.service(ref.namespace, ref.name));
  };
  const [all, primary, canary, primaryService, canaryService, route] = await Promise.all([
    lookup.rollouts(ns).catch(() => []),
    found(lookup.deployment(ns, spec.primary.name)),
    found(lookup.deployment(ns, spec.canary.name)),
    svc(spec.primary.host),
    svc(spec.canary.host),
    found(lookup.route(spec.route.kind, ns, spec.route.name)),
  ]);
  const [grants, subsetRules] = await Promise.all([
    route.state === 'found' ? grantChecks(ns, spec, route.object, lookup) : [],
    route.state === 'found' ? subsetObjects(ns, spec, lookup) : undefined,
  ]);
  return {
    others: all.filter((r) => r.metadata.name !== name),
    primary,
    canary,
    primaryService,
    canaryService,
    route,
    grants,
    ...(subsetRules ? { subsetRules } : {}),
  };
}

/** The subset objects of the namespaces of the hosts, when the spec names subsets. */
async function subsetObjects(
  ns: string,
  spec: RolloutSpec,
  lookup: Lookup,
): Promise<Found<readonly unknown[]> | undefined> {
  if (spec.primary.subset === undefined || !routerFor(spec.route.kind)?.subsets) return undefined;
  const namespaces = [
    ...new Set([spec.primary.host, spec.canary.host].map((h) => serviceOfHost(h, ns).namespace)),
  ];
  try {
    const lists = await Promise.all(namespaces.map((n) => lookup.subsetRules(spec.route.kind, n)));
    return { state: 'found', object: lists.flat() };
  } catch (e) {
    return { state: 'unknown', error: errorMessage(e) };
  }
}

/** For each reference of the route into another namespace, whether a grant there permits it. */
async function grantChecks(
  ns: string,
  spec: RolloutSpec,
  route: KubeObject,
  lookup: Lookup,
): Promise<GrantCheck[]> {
  const kind = routerFor(spec.route.kind)?.grants;
  if (!kind) return [];
  const refs = kind.needed(route, routeHostsOf(spec, ns));
  const byNamespace = new Map<string, Promise<readonly unknown[]>>();
  const grantsIn = (n: string): Promise<readonly unknown[]> => {
    let p = byNamespace.get(n);
    if (!p) byNamespace.set(n, (p = lookup.grants(spec.route.kind, n)));
    return p;
  };
  return Promise.all(
    refs.map(async (ref): Promise<GrantCheck> => {
      try {
        return { ref, permitted: kind.permits(await grantsIn(ref.namespace), ref) };
      } catch (e) {
        return { ref, permitted: { unknown: errorMessage(e) } };
      }
    }),
  );
}

/** Deployments and Services this Rollout names that another Rollout of the namespace already owns. */
function claims(ns: string, spec: RolloutSpec, others: readonly RolloutObject[]): string[] {
  const problems: string[] = [];
  for (const other of others) {
    const refs = rolloutRefs(other);
    const owner = `Rollout ${ns}/${refs.name}`;
    const theirs: [Role, string | undefined, string | undefined][] = [
      ['primary', refs.primaryName, refs.primaryHost],
      ['canary', refs.canaryName, refs.canaryHost],
    ];
    for (const mine of ['primary', 'canary'] as const) {
      for (const [role, deployment, host] of theirs) {
        if (deployment === spec[mine].name) {
          problems.push(
            `Deployment ${ns}/${deployment} (spec.${mine}.name) is already the ${role} of ${owner}`,
          );
        }
        if (host !== undefined && fqdn(host, ns) === fqdn(spec[mine].host, ns)) {
          problems.push(
            `Service host ${spec[mine].host} (spec.${mine}.host) is already the ${role} host of ${owner}`,
          );
        }
      }
    }
  }
  return problems;
}

/** A Service the rollout cannot use yet, and what it waits for. */
function serviceWarning(svc: Service, where: string): string | undefined {
  const p = serviceProblem(svc, where);
  if (!p) return undefined;
  return `${p.message}; the rollout waits until ${p.kind === 'type' ? 'it is' : 'it has one'}`;
}

/** Why the route object cannot split the rollout's traffic (a denial), or a warning. */
function routeProblems(
  router: Router,
  route: KubeObject,
  ns: string,
  spec: RolloutSpec,
  self: string,
): { deny?: string; warn?: string } {
  const where = `${router.kind} ${ns}/${spec.route.name}`;
  const state = router.read(route, routeHostsOf(spec, ns));
  if (!state.ok) return { deny: `${self} cannot shift traffic with ${where}: ${state.message}` };
  if (state.consistent) return {};
  return {
    warn: `${where} splits traffic differently in its ${state.splits} routes; Steerer will align their weights`,
  };
}

/** The primary's Service selecting the canary's pods, or the other way round. */
function selectorProblem(ns: string, spec: RolloutSpec, facts: RolloutFacts): string | undefined {
  const { primary, canary, primaryService, canaryService } = facts;
  if (primary.state !== 'found' || canary.state !== 'found') return undefined;
  if (primaryService.state !== 'found' || canaryService.state !== 'found') return undefined;
  const side = (host: string, service: Service, d: Deployment): SelectorSide => ({
    host,
    service,
    deployment: d.metadata.name,
    podLabels: d.spec?.template?.metadata?.labels,
  });
  const overlaps = selectorOverlaps(
    ns,
    side(spec.primary.host, primaryService.object, primary.object),
    side(spec.canary.host, canaryService.object, canary.object),
  );
  if (overlaps.length === 0) return undefined;
  return overlaps
    .map((o) => selectorOverlapMessage(o, (name, namespace) => `${namespace}/${name}`))
    .join('; ');
}

/**
 * Subsets the route sends traffic to that no DestinationRule defines, or whose labels miss
 * the side's pods or select the other side's (a refusal), or why they could not be checked.
 */
function subsetProblemsOf(
  router: Router,
  ns: string,
  spec: RolloutSpec,
  facts: RolloutFacts,
): { deny?: string; warn?: string } {
  const kind = router.subsets;
  const { primary, canary } = spec;
  const rules = facts.subsetRules;
  if (!kind || !rules || primary.subset === undefined || canary.subset === undefined) return {};
  if (rules.state !== 'found') {
    return {
      warn: `could not check the ${kind.kind}s defining subsets ${primary.subset} and ${canary.subset} of ${primary.host} (${rules.state === 'unknown' ? rules.error : 'missing'}); the rollout waits if one is missing`,
    };
  }
  const side = (
    role: Role,
    ref: { name: string; host: string },
    subset: string,
    d: Found<Deployment>,
    svc: Found<Service>,
  ): SubsetSide => ({
    role,
    host: ref.host,
    subset,
    deployment: ref.name,
    podLabels: d.state === 'found' ? d.object.spec?.template?.metadata?.labels : undefined,
    serviceSelector: svc.state === 'found' ? svc.object.spec?.selector : undefined,
  });
  const problems = kind.check(
    ns,
    rules.object,
    [
      side('primary', primary, primary.subset, facts.primary, facts.primaryService),
      side('canary', canary, canary.subset, facts.canary, facts.canaryService),
    ],
    (name, namespace) => `${namespace}/${name}`,
  );
  if (problems.length === 0) return {};
  return { deny: problems.map((p) => p.message).join('; ') };
}

/** Cross-namespace references no grant permits (a refusal), and those that could not be checked. */
function grantProblems(
  router: Router,
  ns: string,
  spec: RolloutSpec,
  checks: readonly GrantCheck[],
): { deny?: string; warn: string[] } {
  const where = `${router.kind} ${ns}/${spec.route.name}`;
  const grant = router.grants?.kind ?? 'grant';
  const refused = checks.filter((c) => c.permitted === false);
  const warn = checks.flatMap((c) =>
    typeof c.permitted === 'object'
      ? [
          `could not check the ${grant}s of namespace ${c.ref.namespace} for ${where} ${c.ref.field} (${c.permitted.unknown}); without one the Gateway refuses that backendRef`,
        ]
      : [],
  );
  if (refused.length === 0) return { warn };
  const what = refused
    .map(
      (c) =>
        `${c.ref.field} names Service ${c.ref.namespace}/${c.ref.name}, and no ${grant} in namespace ${c.ref.namespace} allows ${router.kind}s of ${ns} to use it`,
    )
    .join('; ');
  return {
    deny: `${where} ${what}: the Gateway would answer 500 for that share of traffic. Create the ${grant} first (docs/reference.md, "HTTPRoute")`,
    warn,
  };
}

function invalid(req: AdmissionRequest, self: string, errors: FieldError[]): Reviewed {
  return {
    response: deny(req.uid, `${self} is invalid: ${formatFieldErrors(errors)}`, {
      causes: errors.map((e) => ({
        field: e.field,
        message: e.message,
        reason: 'FieldValueInvalid',
      })),
    }),
    note: `invalid spec (${errors.length} field errors)`,
  };
}

/** Warnings for referenced objects that do not exist yet, cannot be read, or are unusable. */
function referenceWarnings(
  ns: string,
  spec: RolloutSpec,
  facts: RolloutFacts,
  router: Router,
): string[] {
  const warnings: string[] = [];
  const expect = <T>(f: Found<T>, what: string, check?: (o: T) => string | undefined): void => {
    if (f.state === 'missing')
      warnings.push(`${what} does not exist yet; the rollout waits for it`);
    else if (f.state === 'unknown')
      warnings.push(
        `could not check ${what} (${f.error}); the rollout waits for it if it is missing`,
      );
    else {
      const problem = check?.(f.object);
      if (problem) warnings.push(problem);
    }
  };
  expect(facts.primary, `Deployment ${ns}/${spec.primary.name}`);
  expect(facts.canary, `Deployment ${ns}/${spec.canary.name}`);
  for (const [f, host] of [
    [facts.primaryService, spec.primary.host],
    [facts.canaryService, spec.canary.host],
  ] as const) {
    const ref = serviceOfHost(host, ns);
    const where = `${ref.namespace}/${ref.name}`;
    expect(f, `Service ${where}`, (s) => serviceWarning(s, where));
  }
  expect(facts.route, `${router.kind} ${ns}/${spec.route.name}`);
  return warnings;
}

/** A refusal when a side's share would reach the wrong pods (or none), else a warning. */
function podProblems(
  req: AdmissionRequest,
  router: Router,
  ns: string,
  spec: RolloutSpec,
  facts: RolloutFacts,
  self: string,
): Reviewed | { warn?: string } {
  const subsets = subsetProblemsOf(router, ns, spec, facts);
  if (subsets.deny) {
    return {
      response: deny(
        req.uid,
        `${self} cannot route to its subsets: ${subsets.deny}. The VirtualService would send that share of traffic to no pods or to the wrong ones (docs/reference.md, "Istio subsets")`,
      ),
      note: 'a subset missing or selecting the wrong pods',
    };
  }
  const selectors = selectorProblem(ns, spec, facts);
  if (selectors) {
    return {
      response: deny(req.uid, `${self} cannot keep its traffic split: ${selectors}`),
      note: 'a Service selects the other side’s pods',
    };
  }
  return subsets.warn !== undefined ? { warn: subsets.warn } : {};
}

export function validateRollout(
  req: AdmissionRequest,
  facts: RolloutFacts | undefined,
  target: RolloutTarget | RolloutSkip = rolloutTarget(req),
): Reviewed {
  if ('skip' in target) {
    if (target.request)
      return invalid(req, `Rollout ${req.namespace ?? ''}/${req.name ?? ''}`, [target.request]);
    return { response: allow(req.uid), note: target.skip };
  }
  const { namespace: ns, name } = target;
  const self = `Rollout ${ns}/${name}`;
  if (!target.spec.ok) return invalid(req, self, target.spec.errors);
  const spec = target.spec.value;
  if (!facts)
    return { response: allow(req.uid, [`${self}: references were not checked`]), note: 'no facts' };
  const claimed = claims(ns, spec, facts.others);
  if (claimed.length > 0) {
    return {
      response: deny(
        req.uid,
        `${self} conflicts with another Rollout: ${claimed.join('; ')}; a Deployment or Service belongs to one Rollout only`,
        { code: 409, reason: 'Conflict' },
      ),
      note: 'claimed by another Rollout',
    };
  }
  const router = routerFor(spec.route.kind);
  if (!router) return { response: allow(req.uid), note: `no router for ${spec.route.kind}` };
  const route =
    facts.route.state === 'found' ? routeProblems(router, facts.route.object, ns, spec, self) : {};
  if (route.deny) {
    return {
      response: deny(req.uid, route.deny),
      note: `${router.kind} does not route to both hosts`,
    };
  }
  const pods = podProblems(req, router, ns, spec, facts, self);
  if ('response' in pods) return pods;
  const grants = grantProblems(router, ns, spec, facts.grants);
  if (grants.deny) {
    return {
      response: deny(req.uid, `${self} cannot shift traffic with ${grants.deny}`),
      note: `a cross-namespace backendRef without a ${router.grants?.kind ?? 'grant'}`,
    };
  }
  const warnings = [
    ...(route.warn ? [route.warn] : []),
    ...(pods.warn ? [pods.warn] : []),
    ...grants.warn,
    ...referenceWarnings(ns, spec, facts, router),
  ];
  return {
    response: allow(req.uid, warnings),
    note: warnings.length > 0 ? `allowed with ${warnings.length} warnings` : 'valid',
  };
}
