// Rollout specs for tests of every validation layer: the unit tests run them through
// validateRolloutSpec, and an end-to-end test can apply the same specs to a real API
// server (CRD schema + admission webhook) and expect the same field to be named.
// Kept out of the package index: it is test data, not runtime code.

/** The seed's spec: valid, and the base every case below changes one field of. */
export const BASE_ROLLOUT_SPEC = {
  targetKind: 'Deployment',
  primary: { name: 'podinfo', host: 'podinfo' },
  canary: { name: 'podinfo-canary', host: 'podinfo-canary' },
  virtualService: { name: 'podinfo', weight: 10 },
  metric: { type: 'counter', name: 'istio_requests_total', interval: '1m', threshold: 99 },
} as const;

export interface InvalidRolloutCase {
  name: string;
  /** The whole `spec` of a Rollout (JSON-serialisable). */
  spec: unknown;
  /** The field the first (and only) error names, e.g. "spec.metric.threshold". */
  field: string;
  /** A fragment of that error's message. */
  message: string;
}

export interface ValidRolloutCase {
  name: string;
  spec: unknown;
}

/** Marks a field to delete in `specWith`. */
export const ABSENT: unique symbol = Symbol('absent');

/** A deep copy of the base spec with the fields at the dotted paths set (or removed). */
export function specWith(changes: Record<string, unknown>): Record<string, unknown> {
  const spec = structuredClone(BASE_ROLLOUT_SPEC) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let target = spec;
    for (const k of keys) {
      const next = target[k];
      if (typeof next !== 'object' || next === null) throw new Error(`specWith: no object at ${k}`);
      target = next as Record<string, unknown>;
    }
    if (value === ABSENT) delete target[last];
    else target[last] = value;
  }
  return spec;
}

const NAME_254 = 'a'.repeat(254);
const METRIC_201 = 'm'.repeat(201);

function invalid(
  name: string,
  changes: Record<string, unknown>,
  field: string,
  message: string,
): InvalidRolloutCase {
  return { name, spec: specWith(changes), field, message };
}

export const INVALID_ROLLOUT_CASES: readonly InvalidRolloutCase[] = [
  // The spec itself.
  { name: 'spec is an array', spec: [BASE_ROLLOUT_SPEC], field: 'spec', message: 'got an array' },
  { name: 'spec is a string', spec: 'podinfo', field: 'spec', message: 'must be an object' },
  { name: 'spec is null', spec: null, field: 'spec', message: 'must be an object, got null' },
  // targetKind.
  invalid('targetKind missing', { targetKind: ABSENT }, 'spec.targetKind', 'required'),
  invalid(
    'targetKind StatefulSet',
    { targetKind: 'StatefulSet' },
    'spec.targetKind',
    'must be "Deployment", got "StatefulSet"',
  ),
  invalid('targetKind lower case', { targetKind: 'deployment' }, 'spec.targetKind', 'Deployment'),
  // primary / canary references.
  invalid('primary missing', { primary: ABSENT }, 'spec.primary', 'required'),
  invalid('primary is a string', { primary: 'podinfo' }, 'spec.primary', 'must be an object'),
  invalid('primary is an array', { primary: ['podinfo'] }, 'spec.primary', 'got an array'),
  invalid('primary.name missing', { 'primary.name': ABSENT }, 'spec.primary.name', 'required'),
  invalid('primary.name empty', { 'primary.name': '' }, 'spec.primary.name', 'required'),
  invalid(
    'primary.name a number',
    { 'primary.name': 42 },
    'spec.primary.name',
    'must be a string, got number 42',
  ),
  invalid(
    'primary.name upper case',
    { 'primary.name': 'Podinfo' },
    'spec.primary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'primary.name with an underscore',
    { 'primary.name': 'pod_info' },
    'spec.primary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'primary.name ending in a dash',
    { 'primary.name': 'podinfo-' },
    'spec.primary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'canary.name with a space',
    { 'canary.name': 'pod info' },
    'spec.canary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'canary.name with a quote',
    { 'canary.name': 'podinfo"' },
    'spec.canary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'canary.name with a newline',
    { 'canary.name': 'podinfo\ncanary' },
    'spec.canary.name',
    '"podinfo\\ncanary" is not a valid Kubernetes name',
  ),
  invalid(
    'canary.name closing a PromQL selector',
    { 'canary.name': 'podinfo"}' },
    'spec.canary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'canary.name injecting a PromQL label matcher',
    { 'canary.name': 'podinfo",reporter="source' },
    'spec.canary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'canary.name a regex alternative',
    { 'canary.name': 'a|b' },
    'spec.canary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'canary.name a regex wildcard',
    { 'canary.name': '.*' },
    'spec.canary.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'canary.name of 254 characters',
    { 'canary.name': NAME_254 },
    'spec.canary.name',
    'at most 253 characters, got 254',
  ),
  invalid(
    'canary.name equal to primary.name',
    { 'canary.name': 'podinfo' },
    'spec.canary.name',
    'must differ from spec.primary.name',
  ),
  invalid('canary.host missing', { 'canary.host': ABSENT }, 'spec.canary.host', 'required'),
  invalid(
    'canary.host equal to primary.host',
    { 'canary.host': 'podinfo' },
    'spec.canary.host',
    'must differ from spec.primary.host',
  ),
  invalid(
    'canary.host the FQDN of primary.host',
    { 'primary.host': 'podinfo.test', 'canary.host': 'podinfo.test.svc.cluster.local' },
    'spec.canary.host',
    'must differ from spec.primary.host',
  ),
  // Istio subset routing: both subsets or neither; one Service only through two subsets.
  invalid(
    'canary.subset without primary.subset',
    { 'canary.subset': 'canary' },
    'spec.primary.subset',
    'required when spec.canary.subset is set',
  ),
  invalid(
    'primary.subset without canary.subset',
    { 'primary.subset': 'primary' },
    'spec.canary.subset',
    'required when spec.primary.subset is set',
  ),
  invalid(
    'the same subset of one Service on both sides',
    { 'canary.host': 'podinfo', 'primary.subset': 'v1', 'canary.subset': 'v1' },
    'spec.canary.subset',
    'must differ from spec.primary.subset',
  ),
  invalid(
    'subset name upper case',
    { 'canary.host': 'podinfo', 'primary.subset': 'Primary', 'canary.subset': 'canary' },
    'spec.primary.subset',
    'not a valid subset name',
  ),
  invalid(
    'subsets with an HTTPRoute',
    {
      virtualService: ABSENT,
      httpRoute: { name: 'podinfo', weight: 10 },
      'canary.host': 'podinfo',
      'primary.subset': 'primary',
      'canary.subset': 'canary',
    },
    'spec.primary.subset',
    'subsets are routed only through spec.virtualService',
  ),
  invalid(
    'canary.host upper case',
    { 'canary.host': 'Podinfo-Canary' },
    'spec.canary.host',
    'not a valid Service host',
  ),
  invalid(
    'canary.host a regex',
    { 'canary.host': 'podinfo-.*' },
    'spec.canary.host',
    'not a valid Service host',
  ),
  invalid(
    'canary.host starting with a digit',
    { 'canary.host': '1podinfo' },
    'spec.canary.host',
    'must start with a letter',
  ),
  invalid(
    'canary.host with a 64-character Service name',
    { 'canary.host': 'p'.repeat(64) },
    'spec.canary.host',
    'at most 63 characters',
  ),
  invalid(
    'canary.host outside the cluster domain',
    { 'canary.host': 'podinfo.example.com' },
    'spec.canary.host',
    'name.namespace.svc.cluster.local',
  ),
  invalid(
    'canary.host of 254 characters',
    { 'canary.host': `podinfo.test.svc.${'a'.repeat(237)}` },
    'spec.canary.host',
    'at most 253 characters, got 254',
  ),
  // virtualService.
  invalid(
    'no route object',
    { virtualService: ABSENT },
    'spec.virtualService',
    'one of spec.virtualService, spec.httpRoute is required',
  ),
  invalid(
    'both a VirtualService and an HTTPRoute',
    { httpRoute: { name: 'podinfo', weight: 10 } },
    'spec.httpRoute',
    'only one of spec.virtualService and spec.httpRoute may be set',
  ),
  invalid(
    'httpRoute.name with an underscore',
    { virtualService: ABSENT, httpRoute: { name: 'pod_info', weight: 10 } },
    'spec.httpRoute.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'httpRoute.weight 0',
    { virtualService: ABSENT, httpRoute: { name: 'podinfo', weight: 0 } },
    'spec.httpRoute.weight',
    'must be between 1 and 100, got 0',
  ),
  invalid(
    'httpRoute.weight missing',
    { virtualService: ABSENT, httpRoute: { name: 'podinfo' } },
    'spec.httpRoute.weight',
    'required',
  ),
  invalid(
    'virtualService.name with an underscore',
    { 'virtualService.name': 'pod_info' },
    'spec.virtualService.name',
    'not a valid Kubernetes name',
  ),
  invalid(
    'weight missing',
    { 'virtualService.weight': ABSENT },
    'spec.virtualService.weight',
    'required',
  ),
  invalid(
    'weight 0',
    { 'virtualService.weight': 0 },
    'spec.virtualService.weight',
    'must be between 1 and 100, got 0',
  ),
  invalid(
    'weight 101',
    { 'virtualService.weight': 101 },
    'spec.virtualService.weight',
    'must be between 1 and 100, got 101',
  ),
  invalid(
    'weight 10.5',
    { 'virtualService.weight': 10.5 },
    'spec.virtualService.weight',
    'must be a whole number, got 10.5',
  ),
  invalid(
    'weight "10"',
    { 'virtualService.weight': '10' },
    'spec.virtualService.weight',
    'must be a number, got "10"',
  ),
  // metric.
  invalid('metric missing', { metric: ABSENT }, 'spec.metric', 'required'),
  invalid('metric.type missing', { 'metric.type': ABSENT }, 'spec.metric.type', 'required'),
  invalid(
    'metric.type gauge',
    { 'metric.type': 'gauge' },
    'spec.metric.type',
    'must be "counter", got "gauge"',
  ),
  invalid('metric.name missing', { 'metric.name': ABSENT }, 'spec.metric.name', 'required'),
  invalid(
    'metric.name with a selector',
    { 'metric.name': 'istio_requests_total{reporter="source"}' },
    'spec.metric.name',
    'not a Prometheus metric name',
  ),
  invalid(
    'metric.name with a dash',
    { 'metric.name': 'istio-requests-total' },
    'spec.metric.name',
    'not a Prometheus metric name',
  ),
  invalid(
    'metric.name starting with a digit',
    { 'metric.name': '1requests' },
    'spec.metric.name',
    'not a Prometheus metric name',
  ),
  invalid(
    'metric.name of 201 characters',
    { 'metric.name': METRIC_201 },
    'spec.metric.name',
    'at most 200 characters, got 201',
  ),
  invalid('interval missing', { 'metric.interval': ABSENT }, 'spec.metric.interval', 'required'),
  invalid('interval ""', { 'metric.interval': '' }, 'spec.metric.interval', 'required'),
  invalid(
    'interval a number',
    { 'metric.interval': 60 },
    'spec.metric.interval',
    'must be a string, got number 60',
  ),
  invalid(
    'interval "1x"',
    { 'metric.interval': '1x' },
    'spec.metric.interval',
    '"1x" is not a duration',
  ),
  invalid(
    'interval "-1m"',
    { 'metric.interval': '-1m' },
    'spec.metric.interval',
    '"-1m" is not a duration',
  ),
  invalid(
    'interval "10" without a unit',
    { 'metric.interval': '10' },
    'spec.metric.interval',
    '"10" is not a duration',
  ),
  invalid(
    'interval "1 m" with a space',
    { 'metric.interval': '1 m' },
    'spec.metric.interval',
    'is not a duration',
  ),
  invalid(
    'interval "25h" above a day',
    { 'metric.interval': '25h' },
    'spec.metric.interval',
    'must be between 1s and 24h, got 25h',
  ),
  invalid(
    'interval "500ms" below a second',
    { 'metric.interval': '500ms' },
    'spec.metric.interval',
    'must be between 1s and 24h, got 500ms',
  ),
  invalid(
    'interval "0s"',
    { 'metric.interval': '0s' },
    'spec.metric.interval',
    'must be between 1s and 24h',
  ),
  invalid(
    'interval of 33 characters',
    { 'metric.interval': `${'0'.repeat(31)}1s` },
    'spec.metric.interval',
    'at most 32 characters, got 33',
  ),
  invalid('threshold missing', { 'metric.threshold': ABSENT }, 'spec.metric.threshold', 'required'),
  invalid(
    'threshold -1',
    { 'metric.threshold': -1 },
    'spec.metric.threshold',
    'must be between 0 and 100, got -1',
  ),
  invalid(
    'threshold 100.1',
    { 'metric.threshold': 100.1 },
    'spec.metric.threshold',
    'must be between 0 and 100, got 100.1',
  ),
  invalid(
    'threshold "99"',
    { 'metric.threshold': '99' },
    'spec.metric.threshold',
    'must be a number, got "99"',
  ),
  invalid(
    'threshold a boolean',
    { 'metric.threshold': true },
    'spec.metric.threshold',
    'must be a number, got boolean true',
  ),
  // metrics: the list of named checks.
  invalid('metrics not a list', { metrics: { name: 'x' } }, 'spec.metrics', 'must be a list'),
  invalid(
    'metrics with 11 checks',
    {
      metrics: Array.from({ length: 11 }, (_, i) => ({
        name: `c${i}`,
        type: 'success-rate',
        threshold: 99,
      })),
    },
    'spec.metrics',
    'at most 10',
  ),
  invalid(
    'metrics check without a type',
    { metrics: [{ name: 'errors', threshold: 99 }] },
    'spec.metrics[0].type',
    'required',
  ),
  invalid(
    'metrics check of an unknown type',
    { metrics: [{ name: 'errors', type: 'apdex', threshold: 99 }] },
    'spec.metrics[0].type',
    'must be one of',
  ),
  invalid(
    'metrics check without a name',
    { metrics: [{ type: 'success-rate', threshold: 99 }] },
    'spec.metrics[0].name',
    'required',
  ),
  invalid(
    'metrics check name with capitals',
    { metrics: [{ name: 'Errors', type: 'success-rate', threshold: 99 }] },
    'spec.metrics[0].name',
    'not a check name',
  ),
  invalid(
    'metrics success-rate without a threshold',
    { metrics: [{ name: 'errors', type: 'success-rate' }] },
    'spec.metrics[0].threshold',
    'required',
  ),
  invalid(
    'metrics interval "soon"',
    { metrics: [{ name: 'errors', type: 'success-rate', threshold: 99, interval: 'soon' }] },
    'spec.metrics[0].interval',
    'not a duration',
  ),
  invalid(
    'metrics metric with a selector',
    { metrics: [{ name: 'errors', type: 'success-rate', threshold: 99, metric: 'x{a="b"}' }] },
    'spec.metrics[0].metric',
    'not a Prometheus metric name',
  ),
  invalid(
    'latency percentile 100',
    { metrics: [{ name: 'p100', type: 'latency', percentile: 100, maxMs: 500 }] },
    'spec.metrics[0].percentile',
    'between 50 and 99.9',
  ),
  invalid(
    'latency percentile 10',
    { metrics: [{ name: 'p10', type: 'latency', percentile: 10, maxMs: 500 }] },
    'spec.metrics[0].percentile',
    'between 50 and 99.9',
  ),
  invalid(
    'latency without maxMs',
    { metrics: [{ name: 'p99', type: 'latency', percentile: 99 }] },
    'spec.metrics[0].maxMs',
    'required',
  ),
  invalid(
    'latency maxMs 0.5',
    { metrics: [{ name: 'p99', type: 'latency', percentile: 99, maxMs: 0.5 }] },
    'spec.metrics[0].maxMs',
    'between 1 and 3600000',
  ),
  invalid(
    'promql without a query',
    { metrics: [{ name: 'q', type: 'promql', max: 1 }] },
    'spec.metrics[0].query',
    'required',
  ),
  invalid(
    'promql with an unknown placeholder',
    { metrics: [{ name: 'q', type: 'promql', query: 'sum(up{job="{job}"})', max: 1 }] },
    'spec.metrics[0].query',
    'unknown placeholder {job}',
  ),
  invalid(
    'promql without bounds',
    { metrics: [{ name: 'q', type: 'promql', query: 'vector(1)' }] },
    'spec.metrics[0].max',
    'one of min and max is required',
  ),
  invalid(
    'promql min above max',
    { metrics: [{ name: 'q', type: 'promql', query: 'vector(1)', min: 2, max: 1 }] },
    'spec.metrics[0].min',
    'must not exceed max',
  ),
  invalid(
    'primary-comparison without a margin',
    { metrics: [{ name: 'vs', type: 'primary-comparison' }] },
    'spec.metrics[0].marginPercent',
    'required',
  ),
  invalid(
    'primary-comparison margin 101',
    { metrics: [{ name: 'vs', type: 'primary-comparison', marginPercent: 101 }] },
    'spec.metrics[0].marginPercent',
    'between 0 and 100',
  ),
  // spec.hooks.
  invalid(
    'hook url ftp',
    { hooks: [{ name: 'x', type: 'rollout', url: 'ftp://example.com/' }] },
    'spec.hooks[0].url',
    'http:// or https://',
  ),
  invalid(
    'hook url with a user',
    { hooks: [{ name: 'x', type: 'rollout', url: 'https://me:secret@example.com/' }] },
    'spec.hooks[0].url',
    'user',
  ),
  invalid(
    'hook url relative',
    { hooks: [{ name: 'x', type: 'rollout', url: '/hooks/x' }] },
    'spec.hooks[0].url',
    'http:// or https://',
  ),
  invalid(
    'hook timeout 1h',
    { hooks: [{ name: 'x', type: 'rollout', url: 'http://h/', timeout: '1h' }] },
    'spec.hooks[0].timeout',
    'between 1s and 5m',
  ),
  invalid(
    'hook type unknown',
    { hooks: [{ name: 'x', type: 'confirm-rollout', url: 'http://h/' }] },
    'spec.hooks[0].type',
    'must be one of',
  ),
  // spec.notifications.
  invalid(
    'notifications is a list',
    { notifications: ['slack'] },
    'spec.notifications',
    'must be an object',
  ),
  invalid(
    'notifications enabled "yes"',
    { notifications: { enabled: 'yes' } },
    'spec.notifications.enabled',
    'true or false',
  ),
  invalid(
    'notifications steps 1',
    { notifications: { steps: 1 } },
    'spec.notifications.steps',
    'true or false',
  ),
  invalid(
    'notifications receiver email',
    { notifications: { receivers: ['slack', 'email'] } },
    'spec.notifications.receivers[1]',
    'must be one of slack, teams, webhook',
  ),
  invalid(
    'notifications receiver listed twice',
    { notifications: { receivers: ['slack', 'slack'] } },
    'spec.notifications.receivers[1]',
    'listed twice',
  ),
  invalid(
    'notifications receivers a string',
    { notifications: { receivers: 'slack' } },
    'spec.notifications.receivers',
    'must be a list',
  ),
];

export const VALID_ROLLOUT_CASES: readonly ValidRolloutCase[] = [
  { name: 'the seed spec', spec: specWith({}) },
  { name: 'host as name.namespace', spec: specWith({ 'canary.host': 'podinfo-canary.test' }) },
  {
    name: 'host as name.namespace.svc',
    spec: specWith({ 'canary.host': 'podinfo-canary.test.svc' }),
  },
  {
    name: 'host as an FQDN',
    spec: specWith({ 'canary.host': 'podinfo-canary.test.svc.cluster.local' }),
  },
  {
    name: 'hosts with the same Service name in different namespaces',
    spec: specWith({ 'primary.host': 'podinfo.prod', 'canary.host': 'podinfo.test' }),
  },
  {
    name: 'two subsets of one Service (Istio subset routing)',
    spec: specWith({
      'canary.host': 'podinfo',
      'primary.subset': 'primary',
      'canary.subset': 'canary',
    }),
  },
  {
    name: 'subsets of the same name in two Services',
    spec: specWith({ 'primary.subset': 'v1', 'canary.subset': 'v1' }),
  },
  { name: 'Deployment names with dots', spec: specWith({ 'canary.name': 'podinfo.v2' }) },
  { name: 'a name of 253 characters', spec: specWith({ 'canary.name': 'a'.repeat(253) }) },
  { name: 'interval 1m30s', spec: specWith({ 'metric.interval': '1m30s' }) },
  { name: 'interval 1.5m', spec: specWith({ 'metric.interval': '1.5m' }) },
  { name: 'interval 1s (the minimum)', spec: specWith({ 'metric.interval': '1s' }) },
  { name: 'interval 1000ms', spec: specWith({ 'metric.interval': '1000ms' }) },
  { name: 'interval 24h (the maximum)', spec: specWith({ 'metric.interval': '24h' }) },
  { name: 'threshold 0', spec: specWith({ 'metric.threshold': 0 }) },
  { name: 'threshold 100', spec: specWith({ 'metric.threshold': 100 }) },
  { name: 'threshold 99.5', spec: specWith({ 'metric.threshold': 99.5 }) },
  { name: 'weight 1', spec: specWith({ 'virtualService.weight': 1 }) },
  { name: 'weight 100', spec: specWith({ 'virtualService.weight': 100 }) },
  {
    name: 'an HTTPRoute instead of a VirtualService',
    spec: specWith({ virtualService: ABSENT, httpRoute: { name: 'podinfo', weight: 10 } }),
  },
  {
    name: 'a recording-rule metric name',
    spec: specWith({ 'metric.name': 'namespace:istio_requests:total' }),
  },
  {
    name: 'every kind of check, in spec.metrics beside spec.metric',
    spec: specWith({
      metrics: [
        { name: 'errors', type: 'success-rate', threshold: 99.5, interval: '30s' },
        { name: 'p99', type: 'latency', percentile: 99, maxMs: 500 },
        {
          name: 'queue',
          type: 'promql',
          query: 'sum(rate(jobs_failed{namespace="{namespace}",pod=~"{canary}-.*"}[{window}]))',
          max: 0.5,
        },
        { name: 'vs-primary', type: 'primary-comparison', marginPercent: 1 },
      ],
    }),
  },
  {
    name: 'spec.metrics without spec.metric',
    spec: specWith({
      metric: ABSENT,
      metrics: [{ name: 'p90', type: 'latency', percentile: 90, maxMs: 250, interval: '2m' }],
    }),
  },
  {
    name: 'a promql check with a lower bound only',
    spec: specWith({ metrics: [{ name: 'up', type: 'promql', query: 'vector(1)', min: 1 }] }),
  },
  {
    name: 'hooks of every type, with timeouts and metadata',
    spec: specWith({
      hooks: [
        { name: 'smoke', type: 'pre-rollout', url: 'http://tester.test:8080/smoke' },
        { name: 'load', type: 'rollout', url: 'https://load.example.com/run?x=1', timeout: '30s' },
        { name: 'approve', type: 'confirm-promotion', url: 'http://gate/', metadata: { t: 'a' } },
        { name: 'db', type: 'post-rollout', url: 'http://10.0.0.1/db', timeout: '5m' },
        { name: 'tell', type: 'rollback', url: 'http://[::1]:9000/rollback', timeout: '1s' },
      ],
    }),
  },
  {
    name: 'notifications to two receivers, with steps',
    spec: specWith({ notifications: { receivers: ['slack', 'teams'], steps: true } }),
  },
  { name: 'notifications turned off', spec: specWith({ notifications: { enabled: false } }) },
  { name: 'notifications to no receiver', spec: specWith({ notifications: { receivers: [] } }) },
];
