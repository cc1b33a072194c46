// The statistics behind a check's verdict on counts: of n requests, k were bad (errors, or
// slower than a bound). Is the canary's bad fraction above the bound, beyond reasonable
// doubt? Below it, with enough requests seen to say so? Pure and exact where it matters
// (small counts): the binomial tail through the regularized incomplete beta function, and
// Wilson score bounds.

/** Counts of a binomial experiment: `total` requests, `bad` of them bad. */
export interface Counts {
  total: number;
  bad: number;
}

/** ln Γ(x) (Lanczos approximation, |error| < 2e-10 for x > 0). */
function logGamma(x: number): number {
  const g = [
    676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = 0.99999999999980993;
  for (const [i, c] of g.entries()) a += c / (y + i + 1);
  const t = y + g.length - 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    for (const num of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + num * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-12) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 ≤ x ≤ 1. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // The continued fraction converges fast on this side of the mean; use symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(X ≥ k) for X ~ Binomial(n, p): how surprising k bad requests are if the rate were p. */
export function binomialTailAtLeast(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  return regularizedBeta(p, k, n - k + 1);
}

/** The Wilson score interval of a proportion at a normal quantile `z`. */
export function wilson(c: Counts, z: number): { lower: number; upper: number } {
  const n = c.total;
  if (n <= 0) return { lower: 0, upper: 1 };
  const p = Math.min(1, Math.max(0, c.bad / n));
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denominator = 1 + z2 / n;
  return {
    lower: Math.max(0, (centre - spread) / denominator),
    upper: Math.min(1, (centre + spread) / denominator),
  };
}

/** The standard normal quantile for a one-sided confidence (Acklam's approximation). */
export function normalQuantile(confidence: number): number {
  const p = Math.min(1 - 1e-15, Math.max(1e-15, confidence));
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const poly = (cs: number[], x: number): number => cs.reduce((acc, k) => acc * x + k, 0);
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/** How a check's counts are judged against its bound on the bad fraction. */
export interface Judgement {
  /**
   * The bad fraction is above the bound beyond reasonable doubt: if it were exactly the
   * bound, seeing this many bad requests would happen with probability `pValue` or less.
   */
  worse: boolean;
  pValue: number;
  /** The bad fraction is below the bound at the pass confidence: enough evidence to go on. */
  better: boolean;
  /** The upper confidence bound of the bad fraction. */
  upper: number;
  /** More requests needed (with no more bad ones) before the evidence could say `better`. */
  needed: number;
}

export interface JudgementPolicy {
  /** The largest acceptable bad fraction (1 − threshold/100 for a success rate). */
  bound: number;
  /** Halting needs p ≤ failAlpha (e.g. 0.001: 99.9% confident the canary is worse). */
  failAlpha: number;
  /** Passing needs the bad fraction below the bound at this one-sided confidence. */
  passConfidence: number;
  /** The bound a pass is judged against, when looser than `bound` (an early step). */
  passBound?: number;
}

/** Requests still needed, with no more bad ones, for the upper bound to reach `bound`. */
function neededRequests(c: Counts, z: number, bound: number): number {
  if (bound <= 0) return Number.POSITIVE_INFINITY;
  let lo = 0;
  let hi = 1;
  const ok = (k: number): boolean => wilson({ total: c.total + k, bad: c.bad }, z).upper <= bound;
  if (ok(0)) return 0;
  while (!ok(hi)) {
    hi *= 2;
    if (hi > 1e9) return Number.POSITIVE_INFINITY;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Judges counts: `worse` by the exact one-sided binomial test at `failAlpha` (small counts
 * cannot look worse by chance alone), `better` by the Wilson upper bound at
 * `passConfidence` (too few requests cannot look better), and otherwise neither: wait.
 */
export function judge(c: Counts, policy: JudgementPolicy): Judgement {
  const n = Math.max(0, Math.round(c.total));
  const k = Math.min(n, Math.max(0, Math.round(c.bad)));
  const counts = { total: n, bad: k };
  const pValue = binomialTailAtLeast(n, k, policy.bound);
  const z = normalQuantile(policy.passConfidence);
  const upper = wilson(counts, z).upper;
  const passBound = policy.passBound ?? policy.bound;
  // A bound of zero (threshold 100%) allows no bad request at all: no bound can prove it,
  // so any requests without a bad one pass.
  const better = n > 0 && (passBound <= 0 ? k === 0 : upper <= passBound);
  return {
    worse: n > 0 && k / n > policy.bound && pValue <= policy.failAlpha,
    pValue,
    better,
    upper,
    needed: better || passBound <= 0 ? 0 : neededRequests(counts, z, passBound),
  };
}

/** What the promotion's sequential test says about counts. */
export interface SequentialJudgement {
  /** The evidence is strong enough to promote. */
  pass: boolean;
  /** The log likelihood ratio of "good" (half the bound) against "bad" (twice the bound). */
  llr: number;
  /** The log likelihood ratio a pass needs: ln(1 / alpha). */
  threshold: number;
  /** More requests needed, with no more bad ones, before the test could pass. */
  needed: number;
}

/**
 * The promotion's test: a sequential probability ratio test between a canary that is bad
 * at half the bound (`good`) and one bad at twice the bound (`bad`), with no lower
 * boundary. Each good request adds ln((1 − good) / (1 − bad)) to the log likelihood ratio,
 * each bad one subtracts ln(bad / good) = ln 4; the test passes once the ratio reaches
 * ln(1 / alpha). Whatever the times at which it is looked at, a canary bad at twice the
 * bound or more passes with probability at most `alpha` (Wald): the release may look at
 * every reconcile without the repeated looks adding up. At bound 1% (threshold 99) and
 * alpha 1e-4 a pass needs 607 requests without an error, about 91 more per error, and a
 * canary at 0.5% errors passes after about 1,100 requests on average.
 */
export function sequentialTest(c: Counts, bound: number, alpha: number): SequentialJudgement {
  const n = Math.max(0, c.total);
  const k = Math.min(n, Math.max(0, c.bad));
  const threshold = Math.log(1 / alpha);
  // A bound of zero allows no bad request at all: any requests without one pass.
  if (bound <= 0) {
    const pass = n >= 1 && k === 0;
    return { pass, llr: pass ? threshold : 0, threshold, needed: pass || k > 0 ? 0 : 1 };
  }
  if (bound >= 1) return { pass: n >= 1, llr: threshold, threshold, needed: n >= 1 ? 0 : 1 };
  const good = bound / 2;
  const bad = Math.min(2 * bound, (1 + bound) / 2);
  const perGood = Math.log((1 - good) / (1 - bad));
  const perBad = Math.log(bad / good);
  const llr = (n - k) * perGood - k * perBad;
  const pass = n > 0 && llr >= threshold;
  return {
    pass,
    llr,
    threshold,
    needed: pass ? 0 : Math.max(1, Math.ceil((threshold - llr) / perGood)),
  };
}
