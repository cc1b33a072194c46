// Building blocks of PromQL that checks share, so every query is built only from
// validated names and no label value can break out of its string.

import { ErrorCode, SteererError } from '../errors.js';

export const SAFE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** The pods whose requests a check measures: a Deployment's workload name in a namespace. */
export interface Workload {
  namespace: string;
  name: string;
  /** The primary's workload, for checks that compare the canary with it. */
  primary?: string;
}

/** Refuses names a query could not use safely (they are validated long before this). */
export function assertSafeWorkload(w: Workload): void {
  assertSafe(w.namespace, 'namespace', SAFE_NAME);
  assertSafe(w.name, 'workload name', SAFE_NAME);
  if (w.primary !== undefined) assertSafe(w.primary, 'workload name', SAFE_NAME);
}

export function assertSafe(value: string, what: string, pattern: RegExp): void {
  if (!pattern.test(value)) {
    throw new SteererError(
      ErrorCode.Invalid,
      `${what} ${JSON.stringify(value)} cannot be used in a query`,
    );
  }
}

/** A PromQL double-quoted string literal. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function regexAlternatives(values: readonly string[]): string {
  return [...new Set(values)]
    .sort()
    .map((v) => v.replace(/\./g, '\\.'))
    .join('|');
}

export const SERIES_LABEL = 'steerer_series';

/**
 * How much a counter grew over a window, per series, with a series born inside the window
 * counted from zero. Prometheus' increase() alone misses such a series' first value (an
 * Istio counter is created at 1 by its first request: a canary's first 5xx) and answers
 * nothing for it until it has two samples in the window, which would read as zero errors.
 * So: increase() for series that existed when the window began, and the latest value for
 * series that did not (their whole count happened inside the window), once each has two
 * samples in the window. A series "existed"
 * when it has any sample in the 5 minutes before the window (a range selection, so a
 * failed scrape's staleness marker at the window's start does not make a long-lived
 * series look new and count its whole history). `selector` is a complete series
 * selector, `metric{…}`; `range` a PromQL duration.
 */
export function countedIncrease(selector: string, range: string): string {
  const before = `last_over_time(${selector}[5m] offset ${range})`;
  // Born or not, a series needs two samples in the window, as increase() does: a window
  // shorter than two scrapes must not count one kind of series (a new 5xx) and not the
  // other (an older 200), which would read as nothing but errors.
  const twice = `count_over_time(${selector}[${range}]) >= 2`;
  return (
    `((increase(${selector}[${range}]) and ${before})` +
    ` or ((last_over_time(${selector}[${range}]) unless ${before}) and (${twice})))`
  );
}
