// promote, promote --force, abort, retry, pause, resume: write the request annotation,
// then wait until the controller has handled it — the annotation is gone and
// status.lastRequest records this action at or after the time of the write — and print
// the outcome.

import { ANNOTATIONS, formatDuration } from '@steerer/common';
import type { Request, RequestStatus, RolloutObject } from '@steerer/common';
import { CLI_FIELD_MANAGER } from './kube.js';
import type { Kube } from './kube.js';
import type { Io } from './io.js';

export const POLL_MS = 500;

export interface RequestTarget {
  namespace: string;
  name: string;
  request: Request;
  /** 0: do not wait. */
  waitMs: number;
}

/**
 * When the API server recorded our write, in whole seconds (from the managedFields entry of
 * our field manager: the server's clock, like the controller's, not this machine's).
 */
export function writeTime(patched: RolloutObject, fallback: number): number {
  const fields = (patched.metadata as { managedFields?: { manager?: string; time?: string }[] })
    .managedFields;
  const ours = fields?.find((f) => f.manager === CLI_FIELD_MANAGER && f.time !== undefined);
  const at = ours?.time === undefined ? NaN : Date.parse(ours.time);
  return Number.isNaN(at) ? Math.floor(fallback / 1000) * 1000 : at;
}

export type Handling =
  | { state: 'pending' }
  | { state: 'handled'; lastRequest: RequestStatus }
  /** Another request replaced ours before the controller got to it. */
  | { state: 'replaced'; lastRequest: RequestStatus };

/**
 * How far the controller's clock may lag the API server's. The annotation being gone is what
 * says the controller has acted; the time only tells its record from an older one, which it
 * still does unless the same request was also handled in the seconds before this one.
 */
export const CLOCK_SKEW_MS = 2000;

/** Whether the controller has handled the request written at `writtenAt` (ms, whole seconds). */
export function handling(rollout: RolloutObject, request: Request, writtenAt: number): Handling {
  if (rollout.metadata.annotations?.[ANNOTATIONS.request] !== undefined) {
    return { state: 'pending' };
  }
  const last = rollout.status?.lastRequest;
  const at = last === undefined ? NaN : Date.parse(last.time);
  if (last === undefined || Number.isNaN(at) || at < writtenAt - CLOCK_SKEW_MS) {
    return { state: 'pending' };
  }
  return last.action === request
    ? { state: 'handled', lastRequest: last }
    : { state: 'replaced', lastRequest: last };
}

function report(target: RequestTarget, h: Handling, io: Io): number {
  if (h.state === 'pending') return 1;
  const q = h.lastRequest;
  const tail = q.message ? ` — ${q.message}` : '';
  if (h.state === 'replaced') {
    io.err.write(
      `error: another request (${q.action}) replaced ${target.request} on rollout ${target.name} before the controller handled it; ${q.action} was ${q.outcome}${tail}\n`,
    );
    return 1;
  }
  if (q.outcome === 'Done') {
    io.out.write(`${target.name}: ${target.request} Done${tail}\n`);
    return 0;
  }
  io.err.write(`${target.name}: ${target.request} ${q.outcome}${tail}\n`);
  return 1;
}

export async function runRequest(kube: Kube, target: RequestTarget, io: Io): Promise<number> {
  const { namespace, name, request } = target;
  const before = await kube.getRollout(namespace, name);
  const pending = before.metadata.annotations?.[ANNOTATIONS.request];
  if (pending !== undefined && pending !== request) {
    io.err.write(
      `note: replacing the request "${pending}", which the controller has not handled yet\n`,
    );
  }
  const patched = await kube.annotateRequest(namespace, name, request);
  const writtenAt = writeTime(patched, io.now());
  if (target.waitMs === 0) {
    io.out.write(
      `${name}: ${request} requested (${ANNOTATIONS.request}=${request}); not waiting for the controller\n`,
    );
    return 0;
  }
  const deadline = io.now() + target.waitMs;
  for (;;) {
    const h = handling(await kube.getRollout(namespace, name), request, writtenAt);
    if (h.state !== 'pending') return report(target, h, io);
    if (io.now() >= deadline) {
      io.err.write(
        `error: the controller did not handle the request within ${formatDuration(target.waitMs)} — is it running? (${ANNOTATIONS.request}=${request} stays on rollout ${name} in namespace ${namespace} until it does)\n`,
      );
      return 1;
    }
    await io.sleep(Math.min(POLL_MS, Math.max(0, deadline - io.now())), io.signal);
    if (io.signal.aborted) {
      io.err.write(
        `stopped waiting: ${ANNOTATIONS.request}=${request} stays on rollout ${name} until the controller handles it\n`,
      );
      return 130;
    }
  }
}
