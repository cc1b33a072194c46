// The checks of an untrusted Rollout spec: the seed's `spec.metric` (the success-rate
// check, unchanged) and `spec.metrics`, a list of named checks of any type. Every bad field
// is named, e.g. "spec.metrics[1].percentile".

import { LIMITS, describe } from '../checker.js';
import type { Checker, Json } from '../checker.js';
import { formatDuration, tryParseDuration } from '../duration.js';
import { isJsonMap } from '../json.js';
import type { PrimaryComparisonSpec } from './compare.js';
import { templateProblem } from './custom.js';
import type { PromqlSpec } from './custom.js';
import type { CheckSpec } from './index.js';
import type { LatencySpec } from './latency.js';
import { bucketAt, ISTIO_DURATION_BUCKETS_MS } from './latency.js';
import { METRIC_NAME } from './promql.js';
import type { SuccessRateSpec } from './success-rate.js';

export const CHECK_TYPES = ['success-rate', 'latency', 'promql', 'primary-comparison'] as const;
export const MAX_CHECKS = 10;
export const QUERY_MAX_LENGTH = 4096;
export const DEFAULT_CHECK_INTERVAL = '1m';
export const DEFAULT_REQUESTS_METRIC = 'istio_requests_total';
export const DEFAULT_DURATION_METRIC = 'istio_request_duration_milliseconds';
/** The seed's spec.metric is the success-rate check of this name. */
export const SEED_CHECK_NAME = 'success-rate';
const CHECK_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CHECK_NAME_MAX_LENGTH = 63;

export interface ChecksOptions {
  /**
   * Prometheus' scrape interval, when known: a window must span at least two scrapes, or
   * no rate can be computed over it.
   */
  scrapeIntervalMs?: number | undefined;
}

type Window = { interval: string; intervalMs: number };

function metricName(c: Checker, m: Json, path: string, fallback?: string): string | undefined {
  const name =
    m.metric === undefined && fallback !== undefined ? fallback : c.string(m, 'metric', path);
  if (name === undefined) return undefined;
  if (name.length > LIMITS.metricNameMaxLength) {
    return c.fail(
      path,
      `must be at most ${LIMITS.metricNameMaxLength} characters, got ${name.length}`,
    );
  }
  if (!METRIC_NAME.test(name)) {
    return c.fail(
      path,
      `${describe(name)} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
    );
  }
  return name;
}

function checkWindow(
  c: Checker,
  m: Json,
  path: string,
  options: ChecksOptions,
  fallback?: string,
): Window | undefined {
  const interval =
    m.interval === undefined && fallback !== undefined ? fallback : c.string(m, 'interval', path);
  if (interval === undefined) return undefined;
  if (interval.length > LIMITS.intervalMaxLength) {
    return c.fail(
      path,
      `must be at most ${LIMITS.intervalMaxLength} characters, got ${interval.length}`,
    );
  }
  const intervalMs = tryParseDuration(interval);
  if (intervalMs === undefined) {
    return c.fail(path, `${describe(interval)} is not a duration (examples: 30s, 1m, 2m30s)`);
  }
  if (intervalMs < LIMITS.intervalMinMs || intervalMs > LIMITS.intervalMaxMs) {
    return c.fail(path, `must be between 1s and 24h, got ${interval}`);
  }
  const scrape = options.scrapeIntervalMs;
  if (scrape !== undefined && scrape > 0 && intervalMs < 2 * scrape) {
    return c.fail(
      path,
      `must be at least ${formatDuration(2 * scrape)}, got ${interval}: Prometheus scrapes every ${formatDuration(scrape)} and a window needs two scrapes`,
    );
  }
  return { interval, intervalMs };
}

/** The seed's spec.metric: the success-rate check, its errors named as before. */
export function successRateFromMetric(
  c: Checker,
  input: Json,
  options: ChecksOptions = {},
): SuccessRateSpec | undefined {
  const m = c.object(input, 'metric', 'spec.metric');
  if (!m) return undefined;
  if (m.type !== 'counter') {
    c.fail(
      'spec.metric.type',
      m.type === undefined ? 'required (counter)' : `must be "counter", got ${describe(m.type)}`,
    );
  }
  const metric = seedMetricName(c, m);
  const window = checkWindow(c, m, 'spec.metric.interval', options);
  const threshold = c.number(m, 'threshold', 'spec.metric.threshold', 0, 100, false);
  if (metric === undefined || window === undefined || threshold === undefined) return undefined;
  if (m.type !== 'counter') return undefined;
  return { type: 'success-rate', name: SEED_CHECK_NAME, metric, ...window, threshold };
}

/** spec.metric.name (the seed calls the metric's name `name`). */
function seedMetricName(c: Checker, m: Json): string | undefined {
  return metricName(c, { metric: m.name }, 'spec.metric.name');
}

function successRateCheck(
  c: Checker,
  m: Json,
  path: string,
  base: Base,
): SuccessRateSpec | undefined {
  const metric = metricName(c, m, `${path}.metric`, DEFAULT_REQUESTS_METRIC);
  const threshold = c.number(m, 'threshold', `${path}.threshold`, 0, 100, false);
  if (metric === undefined || threshold === undefined) return undefined;
  return { type: 'success-rate', ...base, metric, threshold };
}

function latencyCheck(c: Checker, m: Json, path: string, base: Base): LatencySpec | undefined {
  const metric = metricName(c, m, `${path}.metric`, DEFAULT_DURATION_METRIC);
  const percentile = c.number(m, 'percentile', `${path}.percentile`, 50, 99.9, false);
  const lowest = ISTIO_DURATION_BUCKETS_MS[0];
  const maxMs = c.number(m, 'maxMs', `${path}.maxMs`, lowest, 3_600_000, false);
  if (metric === undefined || percentile === undefined || maxMs === undefined) return undefined;
  if (bucketAt(maxMs) > maxMs) {
    return c.fail(`${path}.maxMs`, `must be at least the lowest bucket, ${lowest} ms`);
  }
  return { type: 'latency', ...base, metric, percentile, maxMs };
}

function optionalNumber(c: Checker, m: Json, key: string, path: string): number | undefined {
  if (m[key] === undefined) return undefined;
  return c.number(m, key, path, -Number.MAX_VALUE, Number.MAX_VALUE, false);
}

function promqlCheck(c: Checker, m: Json, path: string, base: Base): PromqlSpec | undefined {
  const query = c.string(m, 'query', `${path}.query`);
  if (query !== undefined && query.length > QUERY_MAX_LENGTH) {
    return c.fail(
      `${path}.query`,
      `must be at most ${QUERY_MAX_LENGTH} characters, got ${query.length}`,
    );
  }
  const problem = query === undefined ? undefined : templateProblem(query);
  if (problem) return c.fail(`${path}.query`, problem);
  const min = optionalNumber(c, m, 'min', `${path}.min`);
  const max = optionalNumber(c, m, 'max', `${path}.max`);
  if (m.min === undefined && m.max === undefined) {
    return c.fail(`${path}.max`, 'one of min and max is required (the bounds of the value)');
  }
  if (min !== undefined && max !== undefined && min > max) {
    return c.fail(`${path}.min`, `must not exceed max (${max}), got ${min}`);
  }
  if (query === undefined || (m.min !== undefined && min === undefined)) return undefined;
  if (m.max !== undefined && max === undefined) return undefined;
  return {
    type: 'promql',
    ...base,
    query,
    ...(min !== undefined ? { min } : {}),
    ...(max !== undefined ? { max } : {}),
  };
}

function comparisonCheck(
  c: Checker,
  m: Json,
  path: string,
  base: Base,
): PrimaryComparisonSpec | undefined {
  const metric = metricName(c, m, `${path}.metric`, DEFAULT_REQUESTS_METRIC);
  const marginPercent = c.number(m, 'marginPercent', `${path}.marginPercent`, 0, 100, false);
  if (metric === undefined || marginPercent === undefined) return undefined;
  return { type: 'primary-comparison', ...base, metric, marginPercent };
}

type Base = { name: string } & Window;

function checkName(c: Checker, m: Json, path: string): string | undefined {
  const name = c.string(m, 'name', path);
  if (name === undefined) return undefined;
  if (name.length > CHECK_NAME_MAX_LENGTH || !CHECK_NAME.test(name)) {
    return c.fail(
      path,
      `${describe(name)} is not a check name (lower-case letters, digits and '-', at most ${CHECK_NAME_MAX_LENGTH} characters)`,
    );
  }
  return name;
}

/** One entry of spec.metrics. */
function listedCheck(
  c: Checker,
  m: unknown,
  path: string,
  options: ChecksOptions,
): CheckSpec | undefined {
  if (!isJsonMap(m)) return c.fail(path, `must be an object, got ${describe(m)}`);
  const name = checkName(c, m, `${path}.name`);
  const type = m.type;
  const known = CHECK_TYPES.find((t) => t === type);
  if (!known) {
    const list = CHECK_TYPES.map((t) => `"${t}"`).join(', ');
    return c.fail(
      `${path}.type`,
      type === undefined
        ? `required (one of ${list})`
        : `must be one of ${list}, got ${describe(type)}`,
    );
  }
  const window = checkWindow(c, m, `${path}.interval`, options, DEFAULT_CHECK_INTERVAL);
  if (name === undefined || window === undefined) return undefined;
  const base = { name, ...window };
  switch (known) {
    case 'success-rate':
      return successRateCheck(c, m, path, base);
    case 'latency':
      return latencyCheck(c, m, path, base);
    case 'promql':
      return promqlCheck(c, m, path, base);
    case 'primary-comparison':
      return comparisonCheck(c, m, path, base);
  }
}

/**
 * The checks of a spec: spec.metric (the success-rate check named "success-rate"), then
 * spec.metrics in order. At least one is required; names are unique.
 */
export function checksOf(
  c: Checker,
  input: Json,
  options: ChecksOptions = {},
): CheckSpec[] | undefined {
  if (input.metric === undefined && input.metrics === undefined) {
    return c.fail('spec.metric', 'required (or spec.metrics)');
  }
  const errorsBefore = c.errors.length;
  const checks: CheckSpec[] = [];
  if (input.metric !== undefined) {
    const seed = successRateFromMetric(c, input, options);
    if (seed) checks.push(seed);
  }
  if (input.metrics !== undefined) {
    const list = input.metrics;
    if (!Array.isArray(list))
      return c.fail('spec.metrics', `must be a list, got ${describe(list)}`);
    if (list.length === 0 && input.metric === undefined) {
      return c.fail('spec.metrics', 'must hold at least one check');
    }
    if (list.length > MAX_CHECKS) {
      return c.fail('spec.metrics', `must hold at most ${MAX_CHECKS} checks, got ${list.length}`);
    }
    list.forEach((m: unknown, i) => {
      const check = listedCheck(c, m, `spec.metrics[${i}]`, options);
      if (!check) return;
      if (checks.some((other) => other.name === check.name)) {
        const taken = check.name === SEED_CHECK_NAME && input.metric !== undefined;
        c.fail(
          `spec.metrics[${i}].name`,
          `"${check.name}" is already the name of ${taken ? 'the check of spec.metric' : 'another check'}`,
        );
        return;
      }
      checks.push(check);
    });
  }
  return c.errors.length > errorsBefore ? undefined : checks;
}
