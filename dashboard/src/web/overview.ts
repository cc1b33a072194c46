// The overview: every Rollout the user can see, one row each, kept live from the server's
// stream (a snapshot, then upserts and removals), filtered by namespace and name. Rows are
// updated in place, so a thousand Rollouts stay cheap to keep current.

import type { OverviewEvents, RolloutSummary, Scope } from '../shared/api.js';
import { listen } from './api.js';
import type { Live } from './api.js';
import { fill, h } from './dom.js';
import { bar } from './details.js';
import { checkText, headline, since, toneOf } from './format.js';
import { overviewHash, rolloutHash } from './route.js';
import type { Shell, View } from './shell.js';

interface Row {
  summary: RolloutSummary;
  tr: HTMLTableRowElement;
}

export interface Filter {
  namespace: string;
  text: string;
}

export function keyOf(r: { namespace: string; name: string }): string {
  return `${r.namespace}/${r.name}`;
}

const collator = new Intl.Collator('en', { numeric: true });

/** Namespace, then name, numbers in order (app2 before app10). */
export function byKey(a: string, b: string): number {
  return collator.compare(a, b);
}

/** Whether a Rollout passes the filter: its namespace, and the text in its name or namespace. */
export function matches(r: RolloutSummary, f: Filter): boolean {
  if (f.namespace && r.namespace !== f.namespace) return false;
  const text = f.text.trim().toLowerCase();
  return !text || r.name.toLowerCase().includes(text) || r.namespace.toLowerCase().includes(text);
}

function phaseCell(s: RolloutSummary): HTMLTableCellElement {
  const phase = s.deleting ? 'Deleting' : (s.phase ?? 'Unknown');
  const tone = s.deleting ? 'idle' : toneOf(s.phase);
  return h(
    'td',
    {},
    h('span', { class: `badge tone-${tone}` }, phase),
    s.pendingRequest ? h('div', { class: 'muted small' }, `requested: ${s.pendingRequest}`) : null,
  );
}

function checkCell(s: RolloutSummary): HTMLTableCellElement {
  const failed = s.failedChecks > 0 ? `${s.failedChecks} failed` : '';
  return h(
    'td',
    {},
    checkText(s.analysis),
    failed ? h('div', { class: 'muted small' }, failed) : null,
  );
}

export function rowCells(s: RolloutSummary, now: number): HTMLTableCellElement[] {
  const at = s.lastTransitionTime;
  return [
    h('th', { scope: 'row' }, h('a', { href: rolloutHash(s.namespace, s.name) }, s.name)),
    h('td', {}, s.namespace),
    phaseCell(s),
    h(
      'td',
      { class: 'num' },
      h('span', { class: 'weight' }, bar(s.canaryWeight), `${s.canaryWeight}%`),
    ),
    checkCell(s),
    h('td', { class: 'age' }, at ? h('time', { datetime: at, title: at }, since(at, now)) : '-'),
    h('td', { class: 'message' }, s.message ?? ''),
  ];
}

const COLUMNS = ['Name', 'Namespace', 'Phase', 'Weight', 'Check', 'Last transition', 'Message'];

class Overview implements View {
  private readonly rows = new Map<string, Row>();
  private readonly summaryLine = h('p', { id: 'headline', class: 'muted' }, 'Listing Rollouts…');
  private readonly nsSelect = h('select', { id: 'namespace-filter' });
  private readonly textInput: HTMLInputElement;
  private readonly tbody = h('tbody');
  private readonly empty = h('p', { id: 'empty', class: 'notice', hidden: true });
  private synced = false;
  private scope: Scope | undefined;
  private namespaces: string | undefined;
  private pending: ReturnType<typeof setTimeout> | undefined;
  private readonly live: Live;
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(
    main: HTMLElement,
    private readonly shell: Shell,
    private readonly filter: Filter,
  ) {
    shell.setTitle('Rollouts');
    this.textInput = h('input', {
      id: 'name-filter',
      type: 'search',
      value: filter.text,
      autocomplete: 'off',
    });
    this.refreshNamespaces();
    this.layout(main);
    this.nsSelect.addEventListener('change', () => this.onFilter());
    this.textInput.addEventListener('input', () => this.onFilter());
    this.live = listen<OverviewEvents>(
      '/api/overview/stream',
      {
        snapshot: (d) => this.snapshot(d),
        upsert: (s) => this.upsert(s),
        remove: (r) => this.remove(r.namespace, r.name),
        trouble: (t) => shell.setTrouble(t.message),
      },
      (open) => shell.setConnection(open),
    );
    // The ages of the last transitions move on without a change.
    this.ticker = setInterval(() => {
      const now = Date.now();
      for (const el of this.tbody.querySelectorAll<HTMLTimeElement>('td.age time')) {
        el.textContent = since(el.dateTime, now);
      }
    }, 5000);
  }

  private layout(main: HTMLElement): void {
    const table = h(
      'table',
      { id: 'rollouts' },
      h(
        'caption',
        {},
        'Rollouts by namespace and name. Select a name for its timeline, checks and actions.',
      ),
      h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
      this.tbody,
    );
    fill(
      main,
      h('h1', {}, 'Rollouts'),
      this.summaryLine,
      h(
        'div',
        { class: 'filters', role: 'search' },
        h('label', { for: 'namespace-filter' }, 'Namespace', this.nsSelect),
        h('label', { for: 'name-filter' }, 'Name contains', this.textInput),
      ),
      this.empty,
      table,
    );
  }

  private onFilter(): void {
    this.filter.namespace = this.nsSelect.value;
    this.filter.text = this.textInput.value;
    history.replaceState(null, '', overviewHash(this.filter));
    this.applyFilter();
  }

  private applyFilter(): void {
    let shown = 0;
    for (const row of this.rows.values()) {
      const visible = matches(row.summary, this.filter);
      row.tr.hidden = !visible;
      if (visible) shown++;
    }
    const total = headline([...this.rows.values()].map((r) => r.summary));
    this.summaryLine.textContent = shown === this.rows.size ? total : `${total} — showing ${shown}`;
    const where = this.scope?.namespace ?? this.filter.namespace;
    this.empty.hidden = !this.synced || shown > 0;
    this.empty.textContent =
      this.rows.size === 0
        ? `No Rollouts in ${where ? `namespace ${where}` : 'any namespace'} yet.`
        : 'No Rollout matches the filter.';
  }

  private refreshNamespaces(): void {
    const list = [...new Set([...this.rows.values()].map((r) => r.summary.namespace))];
    if (this.filter.namespace && !list.includes(this.filter.namespace)) {
      list.push(this.filter.namespace);
    }
    list.sort(byKey);
    const joined = list.join(',');
    if (joined === this.namespaces) return;
    this.namespaces = joined;
    fill(
      this.nsSelect,
      h('option', { value: '' }, 'All namespaces'),
      ...list.map((n) => h('option', { value: n }, n)),
    );
    this.nsSelect.value = this.filter.namespace;
  }

  /** Many changes at once (a relist, a busy cluster) update the headline and filter once. */
  private settle(): void {
    if (this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.refreshNamespaces();
      this.applyFilter();
    }, 50);
  }

  private render(s: RolloutSummary): HTMLTableRowElement {
    const tr = h('tr', { 'data-key': keyOf(s) }, ...rowCells(s, Date.now()));
    tr.hidden = !matches(s, this.filter);
    return tr;
  }

  private snapshot(data: OverviewEvents['snapshot']): void {
    // Marks for the scale benchmark (bench/src/dashboard.ts): when the list came, when drawn.
    performance.mark('steerer:snapshot-received');
    this.scope = data.scope;
    this.shell.setScope(data.scope);
    this.synced = data.synced;
    this.rows.clear();
    const sorted = [...data.rollouts].sort((a, b) => byKey(keyOf(a), keyOf(b)));
    const fragment = document.createDocumentFragment();
    for (const s of sorted) {
      const tr = this.render(s);
      this.rows.set(keyOf(s), { summary: s, tr });
      fragment.append(tr);
    }
    this.tbody.replaceChildren(fragment);
    this.refreshNamespaces();
    this.applyFilter();
    if (data.scope.note) this.shell.announce(data.scope.note);
    performance.mark('steerer:snapshot-rendered');
    // The next frame starts once this one (style, layout, paint of the rows) is done.
    requestAnimationFrame(() => setTimeout(() => performance.mark('steerer:snapshot-painted'), 0));
  }

  private upsert(s: RolloutSummary): void {
    const key = keyOf(s);
    const row = this.rows.get(key);
    if (row) {
      row.summary = s;
      row.tr.replaceChildren(...rowCells(s, Date.now()));
      row.tr.hidden = !matches(s, this.filter);
    } else {
      const tr = this.render(s);
      const next = [...this.rows.keys()].filter((k) => byKey(k, key) > 0).sort(byKey)[0];
      const before = next === undefined ? null : (this.rows.get(next)?.tr ?? null);
      this.tbody.insertBefore(tr, before);
      this.rows.set(key, { summary: s, tr });
    }
    this.settle();
  }

  private remove(namespace: string, name: string): void {
    const key = keyOf({ namespace, name });
    this.rows.get(key)?.tr.remove();
    this.rows.delete(key);
    this.settle();
  }

  close(): void {
    this.live.close();
    clearInterval(this.ticker);
    if (this.pending !== undefined) clearTimeout(this.pending);
  }
}

export function overviewView(main: HTMLElement, shell: Shell, initial: Filter): View {
  return new Overview(main, shell, { namespace: initial.namespace, text: initial.text });
}
