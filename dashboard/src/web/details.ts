// The Rollout page's text blocks, built from the Rollout as the stream sends it: the facts
// (weight, revisions, times, last request), the current verdict explained with its
// evidence, the conditions and the event log.

import { IDLE_PHASES, inPhases, phaseOf } from '@steerer/common/model';
import type { AnalysisStatus, EventObject } from '@steerer/common/model';
import type { RolloutView } from '../shared/api.js';
import { h } from './dom.js';
import type { Child } from './dom.js';
import { boundText, percent, since, valueText, verdictSentence } from './format.js';

/** The weight as a bar: decoration only, the number next to it says it (a plain element is
 * far cheaper than a <meter> when the overview draws a thousand). */
export function bar(weight: number): HTMLElement {
  const fill = h('span', { class: 'bar-fill' });
  fill.style.width = `${Math.max(0, Math.min(100, weight))}%`;
  return h('span', { class: 'bar', 'aria-hidden': 'true' }, fill);
}

function row(term: string, ...value: Child[]): Child[] {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

function when(time: string | undefined, now: number): Child {
  return time ? h('time', { datetime: time, title: time }, `${since(time, now)} ago`) : '-';
}

export function factsList(r: RolloutView, now: number): HTMLElement {
  const s = r.status ?? {};
  const weight = s.canaryWeight ?? 0;
  const last = s.lastRequest;
  return h(
    'dl',
    { class: 'facts', id: 'facts' },
    ...row(
      'Canary weight',
      h('span', { class: 'weight' }, bar(weight), h('span', { id: 'weight' }, `${weight}%`)),
    ),
    ...row('Failed checks', String(s.failedChecks ?? 0)),
    ...row('Release started', when(s.startTime, now)),
    ...row('Last step', when(s.lastStepTime, now)),
    ...row('Phase since', when(s.lastTransitionTime, now)),
    ...row('Canary revision', s.canaryRevision ?? '-'),
    ...row('Last promoted revision', s.lastPromotedRevision ?? '-'),
    ...(s.failureReason ? row('Failure reason', s.failureReason) : []),
    ...(last
      ? row(
          'Last manual request',
          `${last.action}: ${last.outcome}${last.message ? ` — ${last.message}` : ''} `,
          when(last.time, now),
        )
      : []),
  );
}

function resultTone(a: AnalysisStatus): string {
  switch (a.result) {
    case 'Pass':
      return 'ok';
    case 'Fail':
    case 'Error':
      return 'bad';
    case 'Waiting':
    case 'NoData':
      return 'warn';
  }
}

function samplesText(a: AnalysisStatus): string {
  if (a.samples === undefined) return 'not counted for this check';
  const failures = a.failures !== undefined ? `, ${a.failures} bad` : '';
  const needed =
    a.needed !== undefined && a.needed > 0
      ? `; ${a.needed} more needed before it can pass`
      : '; enough to decide';
  return `${a.samples} requests seen${failures}${needed}`;
}

/** The deciding check's last analysis: a sentence, then every piece of evidence. */
export function verdictBlock(r: RolloutView, now: number): HTMLElement {
  const a = r.status?.analysis;
  if (!a) {
    return h(
      'p',
      { id: 'verdict', class: 'muted' },
      'No check has been measured in this release yet.',
    );
  }
  const phase = phaseOf(r.status);
  const over = inPhases(phase, IDLE_PHASES)
    ? h(
        'p',
        { class: 'muted' },
        `No release is in flight (${phase ?? ''}): this was the last analysis.`,
      )
    : null;
  return h(
    'div',
    { id: 'verdict-block' },
    over,
    h('p', { id: 'verdict', class: `verdict tone-${resultTone(a)}` }, verdictSentence(a)),
    h(
      'dl',
      { class: 'facts' },
      ...row('Check', a.check ?? 'success-rate'),
      ...row('Result', a.result),
      ...row('Value', valueText(a)),
      ...row('Bound', boundText(a)),
      ...(a.baselineValue !== undefined
        ? row('Primary', `${Number(a.baselineValue.toFixed(3))}${a.unit ? ` ${a.unit}` : ''}`)
        : []),
      ...row('Confidence', a.confidence !== undefined ? percent(a.confidence * 100) : '-'),
      ...row('Samples', samplesText(a)),
      ...row('Window', a.window, a.evidenceWindow ? ` (evidence over ${a.evidenceWindow})` : ''),
      ...(a.requestRate !== undefined
        ? row('Request rate', `${Number(a.requestRate.toFixed(2))}/s`)
        : []),
      ...row('Measured', when(a.time, now)),
      ...(a.message ? row('Message', a.message) : []),
      ...(a.query ? row('Query', h('pre', {}, a.query)) : []),
    ),
  );
}

export function conditionsTable(r: RolloutView, now: number): HTMLElement {
  const list = r.status?.conditions ?? [];
  if (list.length === 0)
    return h('p', { id: 'conditions', class: 'muted' }, 'No conditions reported yet.');
  return h(
    'table',
    { id: 'conditions' },
    h('caption', { class: 'visually-hidden' }, 'Conditions'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Type', 'Status', 'Reason', 'Message', 'Since'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...list.map((c) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, c.type),
          h('td', {}, c.status),
          h('td', {}, c.reason),
          h('td', { class: 'message' }, c.message),
          h('td', {}, when(c.lastTransitionTime, now)),
        ),
      ),
    ),
  );
}

/** When an Event last happened, for ordering (newest first). */
export function eventTime(e: EventObject): string {
  const m = e.metadata as { creationTimestamp?: string };
  const series = (e as { eventTime?: string }).eventTime;
  return e.lastTimestamp ?? series ?? e.firstTimestamp ?? m.creationTimestamp ?? '';
}

export const MAX_EVENTS = 100;

export function eventsTable(
  events: readonly EventObject[],
  error: string | undefined,
  now: number,
): HTMLElement {
  if (error)
    return h('p', { id: 'events', class: 'notice' }, `The events cannot be shown: ${error}`);
  if (events.length === 0)
    return h('p', { id: 'events', class: 'muted' }, 'No events for this Rollout.');
  const sorted = [...events].sort((a, b) =>
    eventTime(a) < eventTime(b) ? 1 : eventTime(a) > eventTime(b) ? -1 : 0,
  );
  return h(
    'table',
    { id: 'events' },
    h(
      'caption',
      {},
      `Events, newest first${sorted.length > MAX_EVENTS ? ` (the last ${MAX_EVENTS})` : ''}`,
    ),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Last seen', 'Type', 'Reason', 'Message', 'Count'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...sorted
        .slice(0, MAX_EVENTS)
        .map((e) =>
          h(
            'tr',
            {},
            h('td', {}, when(eventTime(e) || undefined, now)),
            h(
              'td',
              {},
              h('span', { class: `badge tone-${e.type === 'Warning' ? 'bad' : 'idle'}` }, e.type),
            ),
            h('td', {}, e.reason),
            h('td', { class: 'message' }, e.message),
            h('td', { class: 'num' }, String(e.count ?? 1)),
          ),
        ),
    ),
  );
}
