// The Rollout page's charts: the canary's weight and share of the traffic, and one chart per
// check with the canary's measurement, the primary's and the bound. Loaded from the server
// (which asks Prometheus) every few seconds and at once after a weight or phase change; a
// weight change seen on the live stream is drawn before that, as a point of its own.

import type { RolloutView, Timeline } from '../shared/api.js';
import { getTimeline } from './api.js';
import { Chart } from './chart.js';
import type { ChartData, ChartSpec } from './chart.js';
import { fill, h } from './dom.js';
import { REFRESH_MS, aboutText, boundLine, checkSpec, weightSpec } from './lines.js';

/** After a weight or phase change: soon, but after the controller's next write settles. */
export const CHANGE_DELAY_MS = 1500;

function queriesBlock(queries: { canary: string; primary: string }): HTMLElement {
  return h(
    'details',
    {},
    h('summary', {}, 'PromQL'),
    h('p', {}, 'Canary:'),
    h('pre', {}, queries.canary),
    h('p', {}, 'Primary:'),
    h('pre', {}, queries.primary),
  );
}

export interface TimelinePanel {
  element: HTMLElement;
  /** The Rollout as the stream sent it now. */
  onRollout(r: RolloutView): void;
  close(): void;
}

class TimelineCharts implements TimelinePanel {
  readonly element: HTMLElement;
  private readonly about = h(
    'p',
    { id: 'timeline-about', class: 'muted' },
    'Loading the timeline…',
  );
  private readonly problem = h('p', { id: 'timeline-problem', class: 'notice', hidden: true });
  private readonly grid = h('div', { class: 'charts' });
  private readonly charts = new Map<string, Chart>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dueAt = 0;
  private inflight: AbortController | undefined;
  private closed = false;
  private lastWeight: number | undefined;
  private lastPhase: string | undefined;

  constructor(
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.element = h(
      'section',
      { 'aria-labelledby': 'timeline-title' },
      h('h2', { id: 'timeline-title' }, 'Timeline'),
      this.about,
      this.problem,
      this.grid,
    );
    this.schedule(0);
  }

  private chart(spec: ChartSpec, extra?: Node): Chart {
    const key = `${spec.id}:${spec.title}:${spec.lines.map((l) => l.label).join('|')}`;
    let c = this.charts.get(key);
    if (!c) {
      c = new Chart(spec, extra);
      this.charts.set(key, c);
    }
    return c;
  }

  private draw(t: Timeline): void {
    this.about.textContent = aboutText(t);
    this.problem.hidden = t.error === undefined;
    this.problem.textContent = t.error
      ? `${t.error}. The charts fill in once Prometheus answers (retrying every ${REFRESH_MS / 1000}s).`
      : '';
    const used = new Set<Chart>();
    const weight = this.chart(weightSpec(), queriesBlock(t.traffic.queries));
    weight.set([t.t, t.weight, t.traffic.canaryShare] as ChartData);
    weight.problem(t.traffic.error && !t.error ? `Request rates: ${t.traffic.error}` : undefined);
    used.add(weight);
    t.checks.forEach((c, i) => {
      const ch = this.chart(checkSpec(c, i), queriesBlock(c.queries));
      ch.set([t.t, c.primary, c.canary, boundLine(c)] as ChartData);
      ch.problem(c.error && !t.error ? c.error : undefined);
      used.add(ch);
    });
    for (const [key, c] of this.charts) {
      if (used.has(c)) continue;
      c.destroy();
      this.charts.delete(key);
    }
    fill(this.grid, ...[...used].map((c) => c.figure));
  }

  private async load(): Promise<void> {
    this.inflight?.abort();
    const stop = new AbortController();
    this.inflight = stop;
    const answer = await getTimeline(this.namespace, this.name, stop.signal);
    if (this.closed || stop.signal.aborted) return;
    if (answer.ok) {
      this.draw(answer.value);
      return;
    }
    this.problem.hidden = false;
    this.problem.textContent = `The timeline could not be loaded: ${answer.error} (retrying every ${REFRESH_MS / 1000}s).`;
  }

  /** Loads in `ms`, unless a load is due sooner (a fast release must not starve the reload). */
  private schedule(ms: number): void {
    if (this.closed) return;
    const due = Date.now() + ms;
    if (this.timer !== undefined && this.dueAt <= due) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.load().finally(() => {
        if (this.timer === undefined) this.schedule(REFRESH_MS);
      });
    }, ms);
  }

  onRollout(r: RolloutView): void {
    const weight = r.status?.canaryWeight ?? 0;
    const phase = r.status?.phase;
    const moved = this.lastWeight !== undefined && weight !== this.lastWeight;
    if (moved) {
      for (const c of this.charts.values()) {
        if (c.spec.id === 'chart-weight') c.append(Date.now() / 1000, 0, weight);
      }
    }
    const changed = moved || (this.lastPhase !== undefined && phase !== this.lastPhase);
    this.lastWeight = weight;
    this.lastPhase = phase;
    if (changed) this.schedule(CHANGE_DELAY_MS);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.inflight?.abort();
    for (const c of this.charts.values()) c.destroy();
    this.charts.clear();
  }
}

export function timelinePanel(namespace: string, name: string): TimelinePanel {
  return new TimelineCharts(namespace, name);
}
