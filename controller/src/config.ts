// The controller's flags and environment, parsed once.

import {
  ErrorCode,
  LOG_LEVELS,
  SteererError,
  errorMessage,
  parseFlags,
  routersNamed,
} from '@steerer/common';
import type { FlagSpecs, ParsedFlags } from '@steerer/common';

export const CONTROLLER_FLAGS = {
  'metrics-server': {
    type: 'url',
    env: 'METRICS_SERVER',
    default: 'http://prometheus.istio-system:9090',
    help: 'Prometheus URL queried for canary success rates',
  },
  'control-loop-interval': {
    type: 'duration',
    env: 'CONTROL_LOOP_INTERVAL',
    default: '10s',
    minMs: 1000,
    help: 'Time between weight steps (and between repeated halt reports)',
  },
  'analysis-interval': {
    type: 'duration',
    env: 'ANALYSIS_INTERVAL',
    default: '2s',
    minMs: 200,
    help: 'How often canaries under analysis are measured; a failing measurement halts at once',
  },
  'rollback-on-failure': {
    type: 'bool',
    env: 'ROLLBACK_ON_FAILURE',
    default: true,
    help: "Roll back a release whose checks keep failing (a Rollout's spec.rollback.onFailure overrides it)",
  },
  'progress-deadline': {
    type: 'duration',
    env: 'PROGRESS_DEADLINE',
    default: '10m',
    help: "Roll back a release that makes no progress this long; 0s: never (a Rollout's spec.progressDeadline overrides it)",
  },
  'route-settle-time': {
    type: 'duration',
    env: 'ROUTE_SETTLE_TIME',
    default: '5s',
    help: 'After routing all traffic back to the primary, how long the canary keeps its pods (time for the data plane to apply the route)',
  },
  'scrape-interval': {
    type: 'duration',
    env: 'SCRAPE_INTERVAL',
    default: '0s',
    help: "Prometheus' scrape interval of the checked series; windows shorter than three scrapes are widened (0s: learn it from Prometheus' targets API, else assume 15s)",
  },
  'metrics-timeout': {
    type: 'duration',
    env: 'METRICS_TIMEOUT',
    default: '5s',
    help: 'Deadline of one Prometheus query',
  },
  routers: {
    type: 'string',
    env: 'ROUTERS',
    default: '',
    help: 'Route object kinds to watch and write, comma-separated (VirtualService, HTTPRoute); empty: all. A Rollout naming another kind waits',
  },
  namespace: {
    type: 'string',
    env: 'WATCH_NAMESPACE',
    help: 'Watch Rollouts in this namespace only (default: all namespaces)',
  },
  'log-level': {
    type: 'string',
    env: 'LOG_LEVEL',
    default: 'info',
    choices: LOG_LEVELS,
    help: 'error, warn, info or debug',
  },
  kubeconfig: {
    type: 'string',
    env: 'KUBECONFIG',
    help: 'kubeconfig file (default: in-cluster, then ~/.kube/config)',
  },
  'listen-address': {
    type: 'string',
    env: 'LISTEN_ADDRESS',
    default: ':8080',
    help: 'Address of /metrics, /healthz and /readyz',
  },
  workers: {
    type: 'int',
    env: 'WORKERS',
    default: 32,
    min: 1,
    max: 256,
    help: 'Rollouts reconciled in parallel (each an in-flight reconcile waiting on API writes, not a thread)',
  },
  'leader-elect': {
    type: 'bool',
    env: 'LEADER_ELECT',
    default: true,
    help: 'Run only while holding the leader Lease',
  },
  'leader-election-namespace': {
    type: 'string',
    env: 'POD_NAMESPACE',
    default: 'default',
    help: 'Namespace of the leader Lease (steerer-controller)',
  },
  'leader-election-id': {
    type: 'string',
    env: 'LEADER_ELECTION_ID',
    default: 'steerer-controller',
    help: 'Name of the leader Lease',
  },
  'notifications-dir': {
    type: 'string',
    env: 'NOTIFICATIONS_DIR',
    help: "Directory holding the notification receivers' URLs, one file each: slack, teams, webhook (the chart mounts a Secret here). Unset or empty: no notifications",
  },
  'notify-by-default': {
    type: 'bool',
    env: 'NOTIFY_BY_DEFAULT',
    default: true,
    help: 'With receivers configured, notify about every Rollout (false: only those with spec.notifications.enabled: true)',
  },
  'notify-steps': {
    type: 'bool',
    env: 'NOTIFY_STEPS',
    default: false,
    help: "Also notify at every weight step (a Rollout's spec.notifications.steps overrides it)",
  },
  'dashboard-url': {
    type: 'url',
    env: 'DASHBOARD_URL',
    help: "Base URL of the Steerer dashboard; notifications link to the Rollout's page there",
  },
  'notify-timeout': {
    type: 'duration',
    env: 'NOTIFY_TIMEOUT',
    default: '5s',
    minMs: 100,
    help: 'Deadline of one notification request',
  },
  'notify-attempts': {
    type: 'int',
    env: 'NOTIFY_ATTEMPTS',
    default: 5,
    min: 1,
    max: 20,
    help: 'Attempts per notification (5xx, 429, timeouts and network errors are retried; other 4xx are not)',
  },
  'notify-backoff': {
    type: 'duration',
    env: 'NOTIFY_BACKOFF',
    default: '1s',
    minMs: 10,
    help: 'Wait before the first retry; it doubles at each retry, with jitter, up to 30s',
  },
  'notify-queue-size': {
    type: 'int',
    env: 'NOTIFY_QUEUE_SIZE',
    default: 100,
    min: 1,
    max: 10000,
    help: 'Notifications waiting per receiver before the oldest is dropped (and counted)',
  },
  impersonate: {
    type: 'string',
    help: 'Act as this user (e.g. system:serviceaccount:ns:name); for tests of RBAC',
  },
  help: { type: 'bool', default: false, help: 'Print this help' },
} as const satisfies FlagSpecs;

export type ControllerConfig = ParsedFlags<typeof CONTROLLER_FLAGS>;

export function loadConfig(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): ControllerConfig {
  const config = parseFlags(CONTROLLER_FLAGS, argv, env);
  try {
    routersNamed(config.routers);
  } catch (e) {
    throw new SteererError(ErrorCode.Invalid, `--routers: ${errorMessage(e)}`);
  }
  return config;
}
