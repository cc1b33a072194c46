// Every kind of check Steerer can run, by type.

import type { MetricCheck } from './check.js';
import { successRate } from './success-rate.js';
import type { SuccessRateSpec } from './success-rate.js';

/** A check as a validated Rollout spec holds it. */
export type CheckSpec = SuccessRateSpec;

/** The check that measures and judges `spec`. */
export function checkOf(spec: CheckSpec): MetricCheck<CheckSpec> {
  switch (spec.type) {
    case 'success-rate':
      return successRate;
  }
}

export * from './check.js';
export * from './promql.js';
export * from './success-rate.js';
