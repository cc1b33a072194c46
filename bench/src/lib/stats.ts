// Order statistics for benchmark samples. Percentiles use the nearest-rank method on the
// sorted samples, so every reported figure is a value that was actually measured.

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The nearest-rank percentile (0 < p ≤ 100) of ascending samples; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    median: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
    mean: s.length ? sum / s.length : Number.NaN,
  };
}

/** Rounds for presentation: `digits` decimals, NaN and infinities as null (JSON-safe). */
export function round(v: number, digits = 3): number | null {
  if (!Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A summary with every figure rounded, for result files. */
export function rounded(s: Summary, digits = 3): Record<keyof Summary, number | null> {
  return {
    n: s.n,
    min: round(s.min, digits),
    median: round(s.median, digits),
    p90: round(s.p90, digits),
    p99: round(s.p99, digits),
    max: round(s.max, digits),
    mean: round(s.mean, digits),
  };
}

/**
 * The exponent b of cost ≈ a·N^b fitted through the first and last points: 1 is linear,
 * below 1 better than linear. Undefined when a cost is zero or missing.
 */
export function growthExponent(points: readonly { n: number; cost: number }[]): number | undefined {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last || first.n === last.n || first.cost <= 0 || last.cost <= 0) return undefined;
  return Math.log(last.cost / first.cost) / Math.log(last.n / first.n);
}
