// Pure text for the page: percentages, ages, a phase's tone, the overview's check column,
// and the current verdict explained in sentences. No DOM here, so it is unit-tested.

import { IDLE_PHASES, inPhases } from '@steerer/common/model';
import type { AnalysisStatus, Phase, Request } from '@steerer/common/model';
import type { RolloutSummary } from '../shared/api.js';

/** Up to two decimals, trailing zeros dropped: 99.5 → "99.5%". */
export function percent(value: number): string {
  return `${Number(value.toFixed(2))}%`;
}

/** A compact age: "0s", "42s", "4m12s", "3h20m", "3d". */
export function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 && h < 10 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d`;
}

export function since(time: string | undefined, now: number): string {
  const at = time === undefined ? NaN : Date.parse(time);
  return Number.isNaN(at) ? '-' : age(now - at);
}

/** How a phase looks: ok (green), active (blue), warn (amber), bad (red), idle (grey). */
export type Tone = 'ok' | 'active' | 'warn' | 'bad' | 'idle';

export function toneOf(phase: Phase | undefined): Tone {
  switch (phase) {
    case 'Succeeded':
    case 'Initialized':
      return 'ok';
    case 'Progressing':
    case 'Promoting':
    case 'Finalising':
      return 'active';
    case 'Halted':
    case 'Waiting':
      return 'warn';
    case 'RollingBack':
    case 'Failed':
      return 'bad';
    case 'Paused':
    case undefined:
      return 'idle';
  }
}

type Analysis = Pick<
  AnalysisStatus,
  'check' | 'result' | 'successRate' | 'value' | 'unit' | 'threshold' | 'needed'
>;

/** The overview's check column: `99.5% ≥ 99%`, `88.9% < 99%`, `waiting: 40 more`, `no data`. */
export function checkText(a: Analysis | undefined): string {
  if (!a) return '-';
  if (a.result === 'Waiting')
    return a.needed !== undefined ? `waiting: ${a.needed} more` : 'waiting';
  if (a.successRate !== undefined) {
    return `${percent(a.successRate)} ${a.successRate >= a.threshold ? '≥' : '<'} ${percent(a.threshold)}`;
  }
  switch (a.result) {
    case 'NoData':
      return 'no data';
    case 'Error':
      return 'error';
    case 'Pass':
      return a.value !== undefined
        ? `${a.check ?? 'check'} ${Number(a.value.toFixed(3))}: pass`
        : 'pass';
    case 'Fail':
      return a.value !== undefined
        ? `${a.check ?? 'check'} ${Number(a.value.toFixed(3))}: fail`
        : 'fail';
  }
}

/** The value of the deciding check with its unit. */
export function valueText(a: AnalysisStatus): string {
  if (a.successRate !== undefined) return percent(a.successRate);
  if (a.value !== undefined) return `${Number(a.value.toFixed(3))}${a.unit ? ` ${a.unit}` : ''}`;
  return 'no data';
}

/** The bound, as the check states it. */
export function boundText(a: AnalysisStatus): string {
  if (a.successRate !== undefined || (a.check ?? 'success-rate') === 'success-rate') {
    return `at least ${percent(a.threshold)}`;
  }
  return `${a.threshold}`;
}

/** The current verdict in a sentence a person reads first. */
export function verdictSentence(a: AnalysisStatus): string {
  const check = a.check ?? 'success-rate';
  const seen =
    a.samples !== undefined
      ? `${a.failures ?? 0} bad of ${a.samples} requests${a.evidenceWindow ? ` over ${a.evidenceWindow}` : ''}`
      : undefined;
  const confidence = a.confidence !== undefined ? percent(a.confidence * 100) : undefined;
  switch (a.result) {
    case 'Fail':
      return `Failing: ${check} is ${valueText(a)}, bound ${boundText(a)}${seen ? ` (${seen})` : ''}; beyond chance${confidence ? ` at ${confidence} confidence` : ''}. The release is held at its weight.`;
    case 'Pass':
      return `Passing: ${check} is ${valueText(a)}, bound ${boundText(a)}${seen ? ` (${seen})` : ''}${confidence ? `, within the bound at ${confidence} confidence` : ''}.`;
    case 'Waiting':
      return `Waiting for samples: ${a.needed !== undefined ? `${a.needed} more requests` : 'more requests'} before ${check} can pass${seen ? ` (${seen} so far)` : ''}. Too few to tell a healthy canary from a bad one: no step, no halt.`;
    case 'NoData':
      return `No data: no requests reached the canary over the last ${a.window}. No data is not success: the release waits.`;
    case 'Error':
      return `Could not measure ${check}: ${a.message ?? 'the metrics server failed'}. The release is held until it can.`;
  }
}

/** Which requests make sense in a phase (docs/reference.md, Manual control). */
export function requestApplies(request: Request, phase: Phase | undefined): boolean {
  switch (request) {
    case 'promote':
    case 'promote-force':
    case 'abort':
      return phase === 'Progressing' || phase === 'Halted' || phase === 'Paused';
    case 'pause':
      return phase === 'Progressing' || phase === 'Halted';
    case 'resume':
      return phase === 'Paused';
    case 'retry':
      return phase === 'Failed';
  }
}

/** Counts for the overview's headline: how many in each tone. */
export function headline(rollouts: readonly RolloutSummary[]): string {
  const count = (f: (r: RolloutSummary) => boolean): number => rollouts.filter(f).length;
  const releasing = count((r) => !inPhases(r.phase, IDLE_PHASES) && toneOf(r.phase) === 'active');
  const attention = count((r) => toneOf(r.phase) === 'warn');
  const failed = count((r) => toneOf(r.phase) === 'bad');
  const n = rollouts.length;
  return `${n} Rollout${n === 1 ? '' : 's'}: ${releasing} releasing, ${attention} halted or waiting, ${failed} failed or rolling back`;
}
