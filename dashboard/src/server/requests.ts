// A manual request from the page: written as `kubectl steerer` writes it (the annotation
// steerer.io/request, through the same code), then followed in the informer's cache until
// the controller has handled it, as the plugin waits for it.

import { ANNOTATIONS } from '@steerer/common';
import type { Request, RolloutObject } from '@steerer/common';
import type { RequestAnswer } from '../shared/api.js';
import type { ClusterAccess } from './access.js';
import type { RolloutSource } from './rollouts.js';

export const REQUEST_WAIT_MS = 15_000;

/** What the controller made of the request written at `writtenAt`, once it has. */
export function answerOf(
  access: ClusterAccess,
  rollout: RolloutObject | undefined,
  request: Request,
  writtenAt: number,
): RequestAnswer | undefined {
  if (!rollout) {
    return { state: 'handled', outcome: 'Done', message: 'the Rollout was deleted' };
  }
  const h = access.handling(rollout, request, writtenAt);
  switch (h.state) {
    case 'pending':
      return undefined;
    case 'handled':
      return { state: 'handled', outcome: h.lastRequest.outcome, message: h.lastRequest.message };
    case 'replaced':
      return {
        state: 'replaced',
        by: h.lastRequest.action,
        outcome: h.lastRequest.outcome,
        message: h.lastRequest.message,
      };
  }
}

/** Writes the request and waits (at most `waitMs`) for the controller's answer. */
export async function carryOut(
  hub: Pick<RolloutSource, 'subscribeRollout'>,
  access: ClusterAccess,
  target: { namespace: string; name: string; request: Request },
  waitMs = REQUEST_WAIT_MS,
): Promise<RequestAnswer> {
  const { namespace, name, request } = target;
  const writtenAt = await access.writeRequest(namespace, name, request);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: RequestAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      resolve(answer);
    };
    const check = (r: RolloutObject | undefined): void => {
      const a = answerOf(access, r, request, writtenAt);
      if (a) finish(a);
    };
    const timer = setTimeout(
      () =>
        finish({
          state: 'pending',
          message: `written; the controller has not handled it within ${Math.round(waitMs / 1000)}s — is it running? (${ANNOTATIONS.request}=${request} stays on the Rollout until it does)`,
        }),
      waitMs,
    );
    // Only changes after the write count: the cache may still hold the Rollout from before it.
    const unsubscribe = hub.subscribeRollout(namespace, name, {
      rollout: check,
      trouble: () => undefined,
    });
  });
}
