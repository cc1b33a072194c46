// A custom check: the user's own PromQL, with {namespace}, {canary}, {primary} and {window}
// filled in, must give one number within [min, max]. The placeholders are replaced only by
// validated Kubernetes names and a duration, which cannot break out of a string literal or
// a matcher; the template itself is the user's. An answer that is not one finite number
// (several series, NaN, ±Inf) is an explained error, never a pass.

import { formatDuration, promDuration } from '../duration.js';
import type { AnalysisStatus } from '../rollout.js';
import type { CheckSpecBase, JudgedSample, Measurement, MetricCheck, Verdict } from './check.js';
import { workloadKey } from './check.js';
import { measuredWindow } from './counting.js';
import { assertSafeWorkload } from './promql.js';
import type { Workload } from './promql.js';

export interface PromqlSpec extends CheckSpecBase {
  type: 'promql';
  /** The query template. */
  query: string;
  /** Bounds of the value (at least one is set). */
  min?: number;
  max?: number;
}

export const PLACEHOLDERS = ['namespace', 'canary', 'primary', 'window'] as const;

/** What is wrong with a template, if anything: unknown placeholders, unbalanced brackets or quotes. */
export function templateProblem(template: string): string | undefined {
  for (const m of template.matchAll(/\{([a-zA-Z_]+)\}/g)) {
    const name = m[1] ?? '';
    if (!PLACEHOLDERS.some((p) => p === name)) {
      return `unknown placeholder {${name}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`;
    }
  }
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | undefined;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i] ?? '';
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if ('([{'.includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return `unbalanced ${ch} at ${i + 1}`;
  }
  if (quote) return `unterminated string (${quote})`;
  if (stack.length > 0) return `unclosed ${stack.join('')}`;
  return undefined;
}

/** The template with its placeholders filled in for one canary and window. */
export function renderQuery(template: string, w: Workload, windowMs: number): string {
  assertSafeWorkload(w);
  const values: Record<string, string> = {
    namespace: w.namespace,
    canary: w.name,
    primary: w.primary ?? '',
    window: promDuration(windowMs),
  };
  return template.replace(/\{([a-zA-Z_]+)\}/g, (all, name: string) => values[name] ?? all);
}

function readValue(
  samples: readonly { labels: Record<string, string>; value: number }[],
  windowMs: number,
  workloads: readonly Workload[],
): ReadonlyMap<string, Measurement> {
  const out = new Map<string, Measurement>();
  const [w] = workloads;
  if (!w || samples.length === 0) return out;
  const key = workloadKey(w);
  const value = samples[0]?.value ?? Number.NaN;
  const base = { value, requestRate: Number.NaN };
  if (samples.length > 1) {
    out.set(key, { ...base, problem: `the query returned ${samples.length} series, not one` });
  } else if (!Number.isFinite(value)) {
    out.set(key, { ...base, problem: `the query returned ${value}, not a number` });
  } else out.set(key, base);
  void windowMs;
  return out;
}

function bounds(spec: PromqlSpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return `in [${spec.min}, ${spec.max}]`;
  return spec.min !== undefined ? `≥ ${spec.min}` : `≤ ${spec.max ?? ''}`;
}

function verdict(spec: PromqlSpec, sample: JudgedSample, canary: string): Verdict {
  if (sample.kind === 'nodata') {
    const over = formatDuration(sample.windowMs ?? spec.intervalMs);
    return {
      kind: 'wait',
      message: `waiting for ${spec.name} to have a value for ${canary} (none over the last ${over})`,
    };
  }
  if (sample.problem) {
    return { kind: 'fail', reason: 'BadQueryResult', message: `${spec.name}: ${sample.problem}` };
  }
  const v = sample.value;
  if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
    return {
      kind: 'fail',
      reason: 'CheckFailed',
      message: `${spec.name} ${Number(v.toPrecision(4))} is not ${bounds(spec)}`,
    };
  }
  return { kind: 'pass' };
}

export const promql: MetricCheck<PromqlSpec> = {
  type: 'promql',
  // Every canary has its own query: batch by the workload too.
  batchKey: (spec, w) => `promql\u0000${spec.query}\u0000${workloadKey(w)}\u0000${w.primary ?? ''}`,
  windows: (spec, ageMs, minWindowMs = 0) => {
    const w = measuredWindow(Math.max(spec.intervalMs, minWindowMs), ageMs);
    return w === undefined ? [] : [w];
  },
  query: (spec, workloads, windowMs) => {
    const [w] = workloads;
    if (!w) throw new Error('no workload to query');
    return renderQuery(spec.query, w, windowMs);
  },
  scraped: () => undefined,
  read: readValue,
  verdict,
  subject: (spec) => spec.name,
  threshold: (spec) => spec.max ?? spec.min ?? 0,
  statusFields: (_spec, sample): Partial<AnalysisStatus> =>
    sample.kind === 'ok' && Number.isFinite(sample.value) ? { value: sample.value } : {},
  explain: (spec, w, windowMs) => renderQuery(spec.query, w, windowMs),
};
