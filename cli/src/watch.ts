// watch: the status view, live. In a terminal it is redrawn in place on every change of the
// Rollout or its Events (and every second, for the ages); otherwise one plain line is
// written per change of phase, weight or message. Ctrl-C ends it with exit 0, and so does
// the Rollout's deletion, with a last line saying so.

import { kubeTime, whenAborted } from '@steerer/common';
import type { Io } from './io.js';
import type { Kube, RolloutSink } from './kube.js';
import { ANSI, renderScreen, watchKey, watchLine } from './render.js';
import type { ScreenData } from './render.js';
import { loadStatus } from './show.js';

interface View {
  update(data: ScreenData): void;
  /** The watch is over; `message` (if any) says why. */
  end(message: string | undefined): void;
}

function screenView(io: Io, title: string): View {
  let current: ScreenData | undefined;
  let scheduled = false;
  const draw = (): void => {
    scheduled = false;
    if (!current) return;
    const size = { width: io.out.columns ?? 80, height: io.out.rows ?? 24 };
    io.out.write(renderScreen(current, { ...size, now: io.now(), title }));
  };
  io.out.write(`${ANSI.hideCursor}\x1b[2J`);
  const stopTicks = io.every(1000, draw);
  const stopResize = io.out.onResize?.(draw) ?? ((): void => undefined);
  return {
    update(data) {
      current = data;
      // A burst of changes (the first list of many Events) is drawn once.
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(draw);
      }
    },
    end(message) {
      stopTicks();
      stopResize();
      draw();
      io.out.write(`${message === undefined ? '' : `${message}\n`}${ANSI.showCursor}`);
    },
  };
}

function lineView(io: Io): View {
  let lastKey: string | undefined;
  let lastTrouble: string | undefined;
  return {
    update(data) {
      if (data.trouble !== lastTrouble) {
        lastTrouble = data.trouble;
        if (data.trouble !== undefined) io.err.write(`warning: ${data.trouble} (retrying)\n`);
      }
      const key = watchKey(data.rollout);
      if (key === lastKey) return;
      lastKey = key;
      io.out.write(`${watchLine(data.rollout, io.now())}\n`);
    },
    end(message) {
      if (message !== undefined) io.out.write(`${kubeTime(io.now())}  ${message}\n`);
    },
  };
}

export async function watchCommand(
  kube: Kube,
  opts: { namespace: string; name: string },
  io: Io,
): Promise<number> {
  const { namespace, name } = opts;
  const state: ScreenData = await loadStatus(kube, namespace, name);
  const view = io.out.isTTY
    ? screenView(io, `kubectl steerer watch ${name} -n ${namespace}`)
    : lineView(io);
  view.update(state);
  const stop = new AbortController();
  const unlink = whenAborted(io.signal, () => stop.abort());
  let deleted = false;
  const sink: RolloutSink = {
    rollout(rollout) {
      if (rollout === undefined) {
        deleted = true;
        stop.abort();
        return;
      }
      state.rollout = rollout;
      view.update(state);
    },
    trouble(message) {
      if (message === state.trouble) return;
      state.trouble = message;
      view.update(state);
    },
  };
  // Without permission to read the Events, follow the Rollout alone.
  if (state.eventsError === undefined) {
    sink.events = (events): void => {
      state.events = events;
      view.update(state);
    };
  }
  try {
    await kube.watch(namespace, name, sink, stop.signal);
  } finally {
    unlink();
    view.end(deleted ? `rollout ${name} in namespace ${namespace} was deleted` : undefined);
  }
  return 0;
}
