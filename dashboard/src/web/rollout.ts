// One Rollout's page, live from its stream: the phase and what it is doing, the facts, the
// current verdict explained, the actions, the timeline, the conditions and the event log.
// A Rollout deleted while open says so in place; so does a dashboard that lost its server.

import { ANNOTATIONS, phaseOf } from '@steerer/common/model';
import type { EventObject } from '@steerer/common/model';
import type { RolloutEvents, RolloutView } from '../shared/api.js';
import { actionsPanel } from './actions.js';
import type { ActionsPanel } from './actions.js';
import { listen, rolloutPath } from './api.js';
import type { Live } from './api.js';
import { conditionsTable, eventsTable, factsList, verdictBlock } from './details.js';
import { fill, h } from './dom.js';
import { toneOf } from './format.js';
import { overviewHash } from './route.js';
import type { Shell, View } from './shell.js';
import { timelinePanel } from './timeline.js';
import type { TimelinePanel } from './timeline.js';

function section(id: string, title: string, ...children: Node[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    ...children,
  );
}

class RolloutPage implements View {
  private readonly badge = h('span', { id: 'phase', class: 'badge tone-idle' }, 'loading');
  private readonly message = h('p', { id: 'message' });
  private readonly gone = h('p', { id: 'gone', class: 'gone', role: 'alert', hidden: true });
  private readonly facts = h('div');
  private readonly verdict = h('div');
  private readonly conditions = h('div');
  private readonly events = h('div', {}, h('p', { class: 'muted' }, 'Loading events…'));
  private readonly actions: ActionsPanel;
  private readonly timeline: TimelinePanel;
  private readonly live: Live;
  private readonly ticker: ReturnType<typeof setInterval>;
  private view: RolloutView | undefined;
  private eventList: EventObject[] = [];
  private eventError: string | undefined;

  constructor(
    main: HTMLElement,
    private readonly shell: Shell,
    namespace: string,
    name: string,
  ) {
    shell.setTitle(`${name} (${namespace})`);
    this.actions = actionsPanel(namespace, name, (text) => shell.announce(text));
    this.timeline = timelinePanel(namespace, name);
    fill(
      main,
      h(
        'nav',
        { 'aria-label': 'Breadcrumb', class: 'crumbs' },
        h('a', { href: overviewHash() }, 'All Rollouts'),
        ' › ',
        h('a', { href: overviewHash({ namespace, text: '' }) }, namespace),
      ),
      h('h1', {}, h('span', {}, name), this.badge),
      this.gone,
      this.message,
      h(
        'div',
        { class: 'top-grid' },
        section('status', 'Status', this.facts),
        section('verdict', 'Current verdict', this.verdict),
      ),
      this.actions.element,
      this.timeline.element,
      section('conditions', 'Conditions', this.conditions),
      section('events', 'Event log', this.events),
    );
    this.live = listen<RolloutEvents>(
      rolloutPath(namespace, name, 'stream'),
      {
        rollout: (r) => this.onRollout(r),
        gone: (g) => this.onGone(g.message),
        events: (e) => {
          this.eventList = e.events;
          this.eventError = e.error;
          this.draw();
        },
        trouble: (t) => shell.setTrouble(t.message),
      },
      (open) => shell.setConnection(open),
    );
    // Ages ("12s ago") move on without a change.
    this.ticker = setInterval(() => this.draw(), 10_000);
  }

  private draw(): void {
    const now = Date.now();
    const view = this.view;
    if (view) {
      const s = view.status ?? {};
      const phase = phaseOf(s);
      this.badge.textContent = phase ?? 'no phase yet';
      this.badge.className = `badge tone-${toneOf(phase)}`;
      this.message.textContent = s.message ?? '';
      fill(this.facts, factsList(view, now));
      fill(this.verdict, verdictBlock(view, now));
      fill(this.conditions, conditionsTable(view, now));
    }
    fill(this.events, eventsTable(this.eventList, this.eventError, now));
  }

  private onRollout(r: RolloutView): void {
    const before = this.view?.status?.canaryWeight;
    this.view = r;
    this.gone.hidden = true;
    this.draw();
    this.actions.update(phaseOf(r.status), r.metadata.annotations?.[ANNOTATIONS.request]);
    this.timeline.onRollout(r);
    const weight = r.status?.canaryWeight ?? 0;
    if (before !== undefined && before !== weight) this.shell.announce(`Canary weight ${weight}%`);
  }

  private onGone(message: string): void {
    this.gone.hidden = false;
    this.gone.textContent = `${message}. Nothing on this page changes any more.`;
    this.badge.textContent = 'gone';
    this.badge.className = 'badge tone-idle';
    this.actions.disable();
  }

  close(): void {
    this.live.close();
    clearInterval(this.ticker);
    this.actions.close();
    this.timeline.close();
  }
}

export function rolloutView(
  main: HTMLElement,
  shell: Shell,
  namespace: string,
  name: string,
): View {
  return new RolloutPage(main, shell, namespace, name);
}
