// Manual requests on a Rollout, written by `kubectl steerer` (or `kubectl annotate`) as the
// steerer.io/request annotation. One annotation holds one request, so two requests can
// never be in flight at once: the later write replaces an earlier one not yet handled.

export const REQUESTS = ['promote', 'promote-force', 'abort', 'retry', 'pause', 'resume'] as const;
export type Request = (typeof REQUESTS)[number];

export const REQUEST_HELP: Record<Request, string> = {
  promote: 'skip the remaining steps: promote now if the checks pass',
  'promote-force': 'promote now, even if the checks fail',
  abort: 'roll the release back now',
  retry: 'release a rolled-back or aborted revision again',
  pause: 'hold the release at its current weight',
  resume: 'carry on with a paused release',
};

export type ParsedRequest = { ok: true; request: Request } | { ok: false; message: string };

/** Reads the annotation's value; anything else than one of REQUESTS is refused, with the list. */
export function parseRequest(value: string): ParsedRequest {
  const request = REQUESTS.find((r) => r === value.trim());
  if (request) return { ok: true, request };
  return {
    ok: false,
    message: `${JSON.stringify(value.slice(0, 40))} is not a request Steerer knows; use one of ${REQUESTS.join(', ')}`,
  };
}
