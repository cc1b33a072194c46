// Pure renderers: data in (Rollouts, Events, a terminal width, the time now), lines out.
// `get`'s table, `status`'s sections, `watch`'s screen (a terminal) and lines (a pipe).

import { ANNOTATIONS, kubeTime } from '@steerer/common';
import type { AnalysisStatus, EventObject, RolloutObject, RolloutStatus } from '@steerer/common';
import { checkText, percent, since, table, truncate } from './format.js';

export interface RenderOptions {
  /** Terminal width; undefined (not a terminal) never truncates. */
  width?: number | undefined;
  /** The time now (ms since the epoch), for ages. */
  now: number;
  /** How many of the most recent Events `status` shows (10). */
  maxEvents?: number;
}

// ---- get ----------------------------------------------------------------------------

export function renderGet(
  rollouts: readonly RolloutObject[],
  opts: RenderOptions & { allNamespaces: boolean },
): string[] {
  const sorted = [...rollouts].sort(
    (a, b) =>
      a.metadata.namespace.localeCompare(b.metadata.namespace) ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  const header = ['NAME', 'PHASE', 'WEIGHT', 'CHECK', 'AGE', 'MESSAGE'];
  const rows = sorted.map((r) => {
    const s: RolloutStatus = r.status ?? {};
    return [
      r.metadata.name,
      s.phase ?? '-',
      s.canaryWeight === undefined ? '-' : `${s.canaryWeight}%`,
      checkText(s.analysis),
      since(s.lastTransitionTime, opts.now),
      s.message ?? '',
    ];
  });
  const withNamespace = opts.allNamespaces
    ? [
        ['NAMESPACE', ...header],
        ...rows.map((row, i) => [sorted[i]?.metadata.namespace ?? '', ...row]),
      ]
    : [header, ...rows];
  return table(withNamespace, { width: opts.width });
}

// ---- status -------------------------------------------------------------------------

export interface StatusData {
  rollout: RolloutObject;
  events: readonly EventObject[];
  /** Why the Events could not be read (no RBAC for them, say), shown instead. */
  eventsError?: string | undefined;
}

const LABEL = 15;

function field(label: string, value: string, width: number | undefined, indent = ''): string {
  const head = `${indent}${label}:`.padEnd(indent.length + LABEL);
  return truncate(`${head}${value}`, width);
}

function phaseText(s: RolloutStatus, now: number): string {
  if (s.phase === undefined) return '(no status yet: is the controller running?)';
  const age = since(s.lastTransitionTime, now);
  return age === '-' ? s.phase : `${s.phase} (for ${age})`;
}

function headerSection(r: RolloutObject, opts: RenderOptions): string[] {
  const s: RolloutStatus = r.status ?? {};
  const w = s.canaryWeight ?? 0;
  const revision = s.canaryRevision ?? '-';
  const promoted = s.lastPromotedRevision ? ` (last promoted: ${s.lastPromotedRevision})` : '';
  const lines = [
    field('Name', r.metadata.name, opts.width),
    field('Namespace', r.metadata.namespace, opts.width),
    field('Phase', phaseText(s, opts.now), opts.width),
    field('Weight', `${w}% to the canary, ${100 - w}% to the primary`, opts.width),
    field('Revision', `${revision}${promoted}`, opts.width),
    field('Failed checks', String(s.failedChecks ?? 0), opts.width),
  ];
  if (s.failureReason) lines.push(field('Failure', s.failureReason, opts.width));
  const pending = r.metadata.annotations?.[ANNOTATIONS.request];
  if (pending !== undefined) {
    lines.push(field('Request', `${pending} (pending: not handled yet)`, opts.width));
  }
  lines.push(field('Waiting for', s.message || '-', opts.width));
  return lines;
}

function valueText(a: AnalysisStatus): string {
  if (a.successRate !== undefined) return percent(a.successRate);
  if (a.value !== undefined) return `${Number(a.value.toFixed(3))}${a.unit ? ` ${a.unit}` : ''}`;
  return 'no data';
}

/** Requests judged, bad ones, over which window, and how many more are needed. */
function samplesText(a: AnalysisStatus): string | undefined {
  if (a.samples === undefined) return undefined;
  const over = a.evidenceWindow ? ` over ${a.evidenceWindow}` : '';
  const needed = a.needed ? `; ${a.needed} more needed` : '';
  return `${a.samples} requests, ${a.failures ?? 0} bad${over}${needed}`;
}

function analysisSection(a: AnalysisStatus | undefined, opts: RenderOptions): string[] {
  if (!a) return ['Last analysis: none yet'];
  const verdict = a.successRate === undefined ? a.result : `${a.result} (${checkText(a)})`;
  const row = (name: string, value: string): string => field(name, value, opts.width, '  ');
  const lines = ['Last analysis:'];
  if (a.check) lines.push(row('Check', a.check));
  lines.push(row('Result', verdict), row('Value', valueText(a)));
  if (a.baselineValue !== undefined) lines.push(row('Primary', `${a.baselineValue}`));
  lines.push(
    row(
      'Threshold',
      a.successRate !== undefined || !a.check ? percent(a.threshold) : `${a.threshold}`,
    ),
    row('Window', a.window),
  );
  const samples = samplesText(a);
  if (samples) lines.push(row('Samples', samples));
  if (a.confidence !== undefined) lines.push(row('Confidence', percent(a.confidence * 100)));
  lines.push(
    row(
      'Request rate',
      a.requestRate === undefined ? '-' : `${Number(a.requestRate.toFixed(2))}/s`,
    ),
    row('Time', `${a.time} (${since(a.time, opts.now)} ago)`),
  );
  if (a.message) lines.push(row('Message', a.message));
  if (a.query) lines.push(row('Query', a.query));
  return lines;
}

function conditionsSection(s: RolloutStatus, opts: RenderOptions): string[] {
  const conditions = s.conditions ?? [];
  if (conditions.length === 0) return ['Conditions: none'];
  const rows = conditions.map((c) => [
    c.type,
    c.status,
    c.reason,
    since(c.lastTransitionTime, opts.now),
    c.message,
  ]);
  return [
    'Conditions:',
    ...table([['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], ...rows], {
      width: opts.width,
      indent: '  ',
    }),
  ];
}

function requestSection(s: RolloutStatus, opts: RenderOptions): string[] {
  const q = s.lastRequest;
  if (!q) return [field('Last request', 'none', opts.width)];
  const text = `${q.action}: ${q.outcome} ${since(q.time, opts.now)} ago${q.message ? ` — ${q.message}` : ''}`;
  return [field('Last request', text, opts.width)];
}

function eventTime(e: EventObject): string {
  return (
    e.lastTimestamp ??
    (e as { eventTime?: string }).eventTime ??
    e.firstTimestamp ??
    e.metadata.creationTimestamp ??
    ''
  );
}

/** The `count` most recent Events, oldest first (as kubectl describe lists them). */
export function recentEvents(events: readonly EventObject[], count = 10): EventObject[] {
  return [...events]
    .sort((a, b) => {
      const ta = eventTime(a);
      const tb = eventTime(b);
      if (ta !== tb) return ta < tb ? -1 : 1;
      return a.metadata.name.localeCompare(b.metadata.name);
    })
    .slice(-count);
}

function eventsSection(data: StatusData, opts: RenderOptions): string[] {
  if (data.eventsError !== undefined)
    return [truncate(`Events: not shown: ${data.eventsError}`, opts.width)];
  if (data.events.length === 0) return ['Events: none'];
  const recent = recentEvents(data.events, opts.maxEvents ?? 10);
  const rows = recent.map((e) => [
    `${since(eventTime(e), opts.now)}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`,
    e.type,
    e.reason,
    e.message,
  ]);
  if (recent.length === 0) return [`Events: ${data.events.length} (no room to show them)`];
  const title =
    recent.length < data.events.length
      ? `Events (${recent.length} most recent of ${data.events.length}):`
      : 'Events:';
  return [
    title,
    ...table([['AGE', 'TYPE', 'REASON', 'MESSAGE'], ...rows], { width: opts.width, indent: '  ' }),
  ];
}

export function renderStatus(data: StatusData, opts: RenderOptions): string[] {
  const s: RolloutStatus = data.rollout.status ?? {};
  return [
    ...headerSection(data.rollout, opts),
    '',
    ...analysisSection(s.analysis, opts),
    '',
    ...conditionsSection(s, opts),
    '',
    ...requestSection(s, opts),
    '',
    ...eventsSection(data, opts),
  ];
}

// ---- watch --------------------------------------------------------------------------

/** One line per change when stdout is not a terminal: time, phase, weight, message. */
export function watchLine(rollout: RolloutObject, now: number): string {
  const s: RolloutStatus = rollout.status ?? {};
  const weight = `weight ${s.canaryWeight ?? 0}%`;
  return `${kubeTime(now)}  ${(s.phase ?? '-').padEnd(11)}  ${weight.padEnd(11)}  ${s.message ?? ''}`.trimEnd();
}

/** What a line of `watchLine` says apart from the time: a new line only when this changes. */
export function watchKey(rollout: RolloutObject): string {
  const s: RolloutStatus = rollout.status ?? {};
  return JSON.stringify([s.phase, s.canaryWeight, s.message]);
}

export interface ScreenData extends StatusData {
  /** A connection problem being retried. */
  trouble?: string | undefined;
}

export const ANSI = {
  home: '\x1b[H',
  clearLine: '\x1b[K',
  clearBelow: '\x1b[J',
  hideCursor: '\x1b[?25l',
  showCursor: '\x1b[?25h',
} as const;

/**
 * A full screen for a terminal of `width` × `height`: cursor home, each line cleared to its
 * end, then everything below cleared, so a redraw replaces the last one without flicker.
 * Lines beyond the screen's height are cut (a scrolling screen cannot be redrawn in place).
 */
export function renderScreen(
  data: ScreenData,
  opts: { width: number; height: number; now: number; title: string },
): string {
  const header = truncate(`${opts.title}   ${kubeTime(opts.now)}   Ctrl-C to quit`, opts.width);
  const trouble =
    data.trouble === undefined ? [] : [truncate(`! ${data.trouble} (retrying)`, opts.width)];
  const room = Math.max(1, opts.height - 1);
  // Fewer Events rather than losing the most recent ones off the bottom of the screen.
  let lines: string[] = [];
  for (let maxEvents = 10; maxEvents >= 0; maxEvents--) {
    const body = renderStatus(data, { width: opts.width, now: opts.now, maxEvents });
    lines = [header, ...trouble, '', ...body];
    if (lines.length <= room) break;
  }
  lines = lines.slice(0, room);
  return `${ANSI.home}${lines.map((l) => `${l}${ANSI.clearLine}`).join('\n')}\n${ANSI.clearBelow}`;
}
