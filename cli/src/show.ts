// get and status: read once, render, print.

import { CliError, Interrupted } from './errors.js';
import type { Io } from './io.js';
import { widthOf } from './io.js';
import type { Kube } from './kube.js';
import { renderGet, renderStatus } from './render.js';
import type { StatusData } from './render.js';

export async function getCommand(
  kube: Kube,
  opts: { namespace: string; allNamespaces: boolean; name?: string | undefined },
  io: Io,
): Promise<number> {
  const rollouts =
    opts.name !== undefined
      ? [await kube.getRollout(opts.namespace, opts.name)]
      : await kube.listRollouts(opts.allNamespaces ? undefined : opts.namespace);
  if (rollouts.length === 0) {
    // As kubectl: the table's absence is news, not output; it goes to stderr.
    io.err.write(
      opts.allNamespaces
        ? 'No rollouts found.\n'
        : `No rollouts found in namespace ${opts.namespace}.\n`,
    );
    return 0;
  }
  const lines = renderGet(rollouts, {
    allNamespaces: opts.allNamespaces,
    width: widthOf(io.out),
    now: io.now(),
  });
  io.out.write(`${lines.join('\n')}\n`);
  return 0;
}

/** The Rollout and its Events; Events that cannot be read (RBAC) are reported, not fatal. */
export async function loadStatus(kube: Kube, namespace: string, name: string): Promise<StatusData> {
  const rollout = await kube.getRollout(namespace, name);
  try {
    return { rollout, events: await kube.listEvents(namespace, name) };
  } catch (e) {
    if (e instanceof CliError && !(e instanceof Interrupted)) {
      return { rollout, events: [], eventsError: e.message };
    }
    throw e;
  }
}

export async function statusCommand(
  kube: Kube,
  opts: { namespace: string; name: string },
  io: Io,
): Promise<number> {
  const data = await loadStatus(kube, opts.namespace, opts.name);
  const lines = renderStatus(data, { width: widthOf(io.out), now: io.now() });
  io.out.write(`${lines.join('\n')}\n`);
  return 0;
}
