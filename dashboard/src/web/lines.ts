// The timeline's lines and sentences, without the DOM: which lines each chart draws, the
// bound as a line, and the text that goes with the charts. Pure, so it is unit-tested.

import type { CheckSeries, Timeline, Values } from '../shared/api.js';
import type { ChartData, ChartSpec } from './chart.js';

export const REFRESH_MS = 10_000;

export const COLORS = {
  canary: '#0b57b0',
  primary: '#5b6573',
  bound: '#b3261e',
  weight: '#1a7f37',
  share: '#7a3db8',
} as const;

function lastValue(values: readonly (number | null)[] | undefined): number | null {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

export function show(value: number | null, unit: string): string {
  if (value === null) return 'no data';
  const n = Number(value.toFixed(2));
  return unit === '%' ? `${n}%` : `${n}${unit ? ` ${unit}` : ''}`;
}

/** "Latest: primary 100%, canary 99.5%, bound 99%." */
export function latestSentence(spec: Pick<ChartSpec, 'lines' | 'unit'>, data: ChartData): string {
  const parts = spec.lines.map((l, i) => `${l.label} ${show(lastValue(data[i + 1]), spec.unit)}`);
  return `Latest: ${parts.join(', ')}.`;
}

/** The bound as a line on the time axis (for a comparison: the primary plus the margin). */
export function boundLine(c: CheckSeries): Values {
  const fixed = c.min ?? c.max;
  if (fixed !== undefined) return c.canary.map(() => fixed);
  const margin = c.marginOverPrimary;
  if (margin !== undefined) return c.primary.map((p) => (p === null ? null : p + margin));
  return c.canary.map(() => null);
}

export function boundLabel(c: CheckSeries): string {
  if (c.min !== undefined && c.max !== undefined) return `bound (${c.min}–${c.max})`;
  if (c.min !== undefined) return `bound (at least ${c.min}${c.unit === '%' ? '%' : ''})`;
  if (c.max !== undefined) return `bound (at most ${c.max}${c.unit ? ` ${c.unit}` : ''})`;
  if (c.marginOverPrimary !== undefined) return `bound (primary + ${c.marginOverPrimary})`;
  return 'bound';
}

export function weightSpec(): ChartSpec {
  return {
    id: 'chart-weight',
    title: 'Canary weight and share of requests (%)',
    unit: '%',
    range: [0, 100],
    lines: [
      { label: 'weight', stroke: COLORS.weight, stepped: true },
      { label: 'canary share of requests', stroke: COLORS.share, dash: [4, 3] },
    ],
  };
}

export function checkSpec(c: CheckSeries, index: number): ChartSpec {
  return {
    id: `chart-check-${index}`,
    title: `${c.name}: ${c.title}`,
    unit: c.unit,
    range: c.unit === '%' ? [0, 100] : undefined,
    lines: [
      // Drawn in this order: the canary's line over the primary's where they meet.
      { label: 'primary', stroke: COLORS.primary, dash: [6, 4] },
      { label: 'canary', stroke: COLORS.canary },
      { label: boundLabel(c), stroke: COLORS.bound, dash: [2, 3] },
    ],
  };
}

/** What the line above the charts says about where their data comes from. */
export function aboutText(t: Timeline): string {
  const source =
    t.weightSource === 'prometheus'
      ? 'the weight from Prometheus'
      : 'the weight as this dashboard saw it (Prometheus has no steerer_rollout_canary_weight for it)';
  const from = new Date(t.start * 1000).toLocaleTimeString();
  return `Showing ${t.range} (${from}–now, a point every ${t.step}s): ${source}; measurements from Prometheus ${t.prometheus}.`;
}
