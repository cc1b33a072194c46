// The page: a hash router between the overview (#/) and a Rollout (#/rollouts/NS/NAME),
// and the frame around both — the scope line, the connection state and the trouble banner.

import { byId, fill } from './dom.js';
import { overviewView } from './overview.js';
import { rolloutView } from './rollout.js';
import { routeOf } from './route.js';
import type { Shell, View } from './shell.js';

function frame(): Shell {
  const connection = byId('connection');
  const trouble = byId('trouble');
  const scopeLine = byId('scope');
  const announcer = byId('announcer');
  return {
    setConnection(open) {
      connection.textContent = open ? 'Live' : 'Reconnecting to the dashboard server…';
      connection.dataset.state = open ? 'live' : 'down';
    },
    setTrouble(message) {
      trouble.hidden = message === undefined;
      trouble.textContent = message ?? '';
    },
    setScope(scope) {
      const where =
        scope.namespace === undefined ? 'all namespaces' : `namespace ${scope.namespace}`;
      fill(scopeLine, `${where} · context ${scope.context} · ${scope.server}`);
      if (scope.note) scopeLine.title = scope.note;
    },
    announce(text) {
      announcer.textContent = text;
    },
    setTitle(title) {
      document.title = `${title} · Steerer`;
    },
  };
}

function start(): void {
  const shell = frame();
  const main = byId('main');
  let current: View | undefined;
  let shown = '';
  const render = (): void => {
    const route = routeOf(location.hash);
    const key = route.kind === 'rollout' ? `${route.namespace}/${route.name}` : 'overview';
    // The overview keeps its filter in the address; typing in it must not rebuild the page.
    if (key === shown) return;
    shown = key;
    current?.close();
    shell.setTrouble(undefined);
    current =
      route.kind === 'rollout'
        ? rolloutView(main, shell, route.namespace, route.name)
        : overviewView(main, shell, route);
  };
  window.addEventListener('hashchange', () => {
    const before = shown;
    render();
    if (shown !== before) main.focus();
  });
  render();
}

start();
