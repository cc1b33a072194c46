// The manual requests of a Rollout page: one button each (enabled in the phases where the
// request makes sense), a confirmation dialog that says what will happen, and the outcome
// in a live region — the controller's answer, or why the request was not written (a 403
// names the user, the verb and the RBAC that is missing).

import { REQUEST_HELP } from '@steerer/common/model';
import type { Phase, Request } from '@steerer/common/model';
import type { RequestAnswer } from '../shared/api.js';
import { sendRequest } from './api.js';
import type { Answer } from './api.js';
import { h } from './dom.js';
import { requestApplies } from './format.js';

export const ACTIONS: readonly { request: Request; label: string; danger?: boolean }[] = [
  { request: 'promote', label: 'Promote' },
  { request: 'promote-force', label: 'Force promote', danger: true },
  { request: 'abort', label: 'Abort', danger: true },
  { request: 'pause', label: 'Pause' },
  { request: 'resume', label: 'Resume' },
  { request: 'retry', label: 'Retry' },
];

/** One sentence for what became of a request. */
export function outcomeText(
  request: Request,
  answer: Answer<RequestAnswer>,
): { text: string; ok: boolean } {
  if (!answer.ok) {
    const status =
      answer.status === 403
        ? 'Forbidden (HTTP 403)'
        : answer.status === 0
          ? 'Not sent'
          : `Failed (HTTP ${answer.status})`;
    return { text: `${request}: ${status}: ${answer.error}`, ok: false };
  }
  const a = answer.value;
  const tail = (message: string): string => (message ? ` — ${message}` : '');
  switch (a.state) {
    case 'handled':
      return { text: `${request}: ${a.outcome}${tail(a.message)}`, ok: a.outcome === 'Done' };
    case 'replaced':
      return {
        text: `${request} was replaced by ${a.by} before the controller handled it; ${a.by}: ${a.outcome}${tail(a.message)}`,
        ok: false,
      };
    case 'pending':
      return { text: `${request}: ${a.message}`, ok: false };
  }
}

export interface ActionsPanel {
  element: HTMLElement;
  update(phase: Phase | undefined, pending: string | undefined): void;
  /** The Rollout is gone: nothing to ask for. */
  disable(): void;
  close(): void;
}

function confirmDialog(parts: {
  title: HTMLElement;
  help: HTMLElement;
  confirm: HTMLButtonElement;
}): HTMLDialogElement {
  return h(
    'dialog',
    { id: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-help' },
    h(
      'form',
      { method: 'dialog' },
      parts.title,
      parts.help,
      h(
        'p',
        { class: 'muted' },
        'Written as the annotation steerer.io/request on the Rollout, with your own credentials; the controller carries it out.',
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', value: 'cancel', autofocus: true }, 'Cancel'),
        parts.confirm,
      ),
    ),
  );
}

class Actions implements ActionsPanel {
  readonly element: HTMLElement;
  private readonly outcome = h('p', { id: 'outcome', class: 'outcome', role: 'status' });
  private readonly pendingLine = h('p', { id: 'pending', class: 'muted', hidden: true });
  private readonly title = h('h2', { id: 'confirm-title' });
  private readonly help = h('p', { id: 'confirm-help' });
  private readonly confirm = h('button', { type: 'submit', value: 'yes', id: 'confirm-yes' });
  private readonly dialog: HTMLDialogElement;
  private readonly buttons: HTMLButtonElement[];
  private phase: Phase | undefined;
  private busy = false;
  private gone = false;
  private chosen: Request | undefined;

  constructor(
    private readonly namespace: string,
    private readonly name: string,
    private readonly announce: (text: string) => void,
  ) {
    this.dialog = confirmDialog({ title: this.title, help: this.help, confirm: this.confirm });
    this.buttons = ACTIONS.map((a) =>
      h(
        'button',
        {
          type: 'button',
          class: a.danger ? 'danger' : undefined,
          'data-request': a.request,
          title: REQUEST_HELP[a.request],
          onclick: () => this.ask(a.request, a.label, a.danger === true),
        },
        a.label,
      ),
    );
    this.dialog.addEventListener('close', () => {
      const request = this.chosen;
      this.chosen = undefined;
      if (this.dialog.returnValue === 'yes' && request) void this.send(request);
    });
    this.refresh();
    this.element = h(
      'section',
      { 'aria-labelledby': 'actions-title' },
      h('h2', { id: 'actions-title' }, 'Actions'),
      h(
        'div',
        { class: 'actions', role: 'group', 'aria-label': 'Manual requests' },
        ...this.buttons,
      ),
      this.pendingLine,
      this.outcome,
      this.dialog,
    );
  }

  private refresh(): void {
    for (const b of this.buttons) {
      const request = b.dataset.request as Request;
      b.disabled = this.gone || this.busy || !requestApplies(request, this.phase);
    }
  }

  private ask(request: Request, label: string, danger: boolean): void {
    this.chosen = request;
    this.title.textContent = `${label} ${this.name}?`;
    this.help.textContent = `${label} the release of ${this.name} in namespace ${this.namespace}: ${REQUEST_HELP[request]}.`;
    this.confirm.textContent = label;
    this.confirm.className = danger ? 'danger' : '';
    this.dialog.returnValue = '';
    this.dialog.showModal();
  }

  private async send(request: Request): Promise<void> {
    this.busy = true;
    this.refresh();
    this.outcome.className = 'outcome';
    this.outcome.textContent = `${request}: sent; waiting for the controller…`;
    delete this.outcome.dataset.status;
    const answer = await sendRequest(this.namespace, this.name, request);
    const { text, ok } = outcomeText(request, answer);
    this.outcome.textContent = text;
    this.outcome.className = `outcome ${ok ? 'tone-ok' : 'tone-bad'}`;
    this.outcome.dataset.status = answer.ok ? '200' : String(answer.status);
    this.announce(text);
    this.busy = false;
    this.refresh();
  }

  update(phase: Phase | undefined, pending: string | undefined): void {
    this.phase = phase;
    this.pendingLine.hidden = pending === undefined;
    this.pendingLine.textContent = pending
      ? `Requested, not yet handled by the controller: ${pending}`
      : '';
    this.refresh();
  }

  disable(): void {
    this.gone = true;
    this.refresh();
  }

  close(): void {
    if (this.dialog.open) this.dialog.close();
  }
}

export function actionsPanel(
  namespace: string,
  name: string,
  announce: (text: string) => void,
): ActionsPanel {
  return new Actions(namespace, name, announce);
}
