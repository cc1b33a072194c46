// Sampled latency: a log-normal distribution per workload, given by its median (p50) and
// 99th percentile (p99), the two numbers people quote for a service. Pure math; the
// per-workload random streams live in draws.ts.

import type { LatencyDistribution } from './model.js';

/** No sampled latency exceeds this, so a long tail cannot hang a test. */
export const MAX_SAMPLED_LATENCY_MS = 10_000;

/** The standard normal's 99th percentile. */
export const Z_P99 = 2.3263478740408408;

// Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9).
const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2,
  -3.066479806614716e1, 2.506628277459239,
] as const;
const B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
  -1.328068155288572e1,
] as const;
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
  4.374664141464968, 2.938163982698783,
] as const;
const D = [
  7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416,
] as const;
const P_LOW = 0.02425;

function tail(q: number): number {
  return (
    (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
    ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
  );
}

/** The standard normal quantile: Φ⁻¹(p) for p in (0, 1). */
export function inverseNormalCdf(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be within (0, 1), got ${p}`);
  if (p < P_LOW) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - P_LOW) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
  );
}

/** ln(latency) ~ Normal(mu, sigma²): mu = ln p50, sigma = ln(p99 / p50) / z₀.₉₉. */
export function logNormalParameters(d: LatencyDistribution): { mu: number; sigma: number } {
  return { mu: Math.log(d.p50Ms), sigma: Math.log(d.p99Ms / d.p50Ms) / Z_P99 };
}

/**
 * The latency at quantile u in (0, 1), capped at MAX_SAMPLED_LATENCY_MS. With u uniform
 * this samples the distribution (inverse transform), one uniform per request.
 */
export function latencyAt(d: LatencyDistribution, u: number): number {
  const { mu, sigma } = logNormalParameters(d);
  return Math.min(MAX_SAMPLED_LATENCY_MS, Math.exp(mu + sigma * inverseNormalCdf(u)));
}
