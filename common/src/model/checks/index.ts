// Every kind of check Steerer can run, by type.

import type { MetricCheck } from './check.js';
import { primaryComparison } from './compare.js';
import type { PrimaryComparisonSpec } from './compare.js';
import { promql } from './custom.js';
import type { PromqlSpec } from './custom.js';
import { latency } from './latency.js';
import type { LatencySpec } from './latency.js';
import { successRate } from './success-rate.js';
import type { SuccessRateSpec } from './success-rate.js';

/** A check as a validated Rollout spec holds it. */
export type CheckSpec = SuccessRateSpec | LatencySpec | PromqlSpec | PrimaryComparisonSpec;
export type CheckType = CheckSpec['type'];

/** The check that measures and judges `spec`. */
export function checkOf(spec: CheckSpec): MetricCheck<CheckSpec> {
  switch (spec.type) {
    case 'success-rate':
      return successRate;
    case 'latency':
      return latency;
    case 'promql':
      return promql;
    case 'primary-comparison':
      return primaryComparison;
  }
}

export * from './check.js';
export * from './promql.js';
export * from './success-rate.js';
export * from './counting.js';
export * from './latency.js';
export * from './custom.js';
export * from './compare.js';
export * from './stats.js';
export * from './parse.js';
