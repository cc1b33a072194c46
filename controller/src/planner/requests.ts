// Manual requests (the steerer.io/request annotation): promote, promote-force, abort,
// retry, pause, resume. Each is carried out or refused in the pass that sees it, recorded in
// status.lastRequest with an event, and removed from the Rollout. Carrying one out twice
// (a restart between the status write and the removal) changes nothing the second time.

import { ANNOTATIONS, parseRequest } from '@steerer/common/model';
import type { Request } from '@steerer/common/model';
import type { Pass } from './pass.js';
import { inFlight } from './pass.js';
import { startRollback } from './rollback.js';

/** The phases a release can be steered from by hand. */
function steerable(pass: Pass): boolean {
  const p = pass.status.phase;
  return inFlight(pass.status) && (p === 'Progressing' || p === 'Halted' || p === 'Paused');
}

function noRelease(pass: Pass): string {
  const p = pass.status.phase ?? 'Waiting';
  return p === 'Promoting'
    ? 'the canary is being promoted; it cannot be steered any more'
    : `no release is in progress (phase ${p})`;
}

function pause(pass: Pass): void {
  const s = pass.status;
  if (s.phase === 'Paused') return pass.answer('Done', 'already paused');
  if (!steerable(pass)) return pass.answer('Refused', noRelease(pass));
  s.phase = 'Paused';
  pass.answer('Done', `paused at weight ${s.canaryWeight ?? 0}`);
}

function resume(pass: Pass): void {
  const s = pass.status;
  if (s.phase !== 'Paused')
    return pass.answer('Refused', `not paused (phase ${s.phase ?? 'Waiting'})`);
  s.phase = 'Progressing';
  // The next step waits a full interval, and the progress deadline starts afresh.
  s.lastCheckTime = pass.nowIso;
  s.lastProgressTime = pass.nowIso;
  pass.answer('Done', `resumed at weight ${s.canaryWeight ?? 0}`);
}

function abort(pass: Pass): void {
  const s = pass.status;
  if (s.phase === 'RollingBack' || s.phase === 'Failed') {
    return pass.answer('Done', 'already rolled back');
  }
  if (!steerable(pass)) return pass.answer('Refused', noRelease(pass));
  startRollback(pass, 'Aborted', 'aborted by request');
  pass.answer('Done', 'rolling back');
}

/** Retry is carried out by the release logic (it knows the canary's revision); see release. */
function retry(pass: Pass, canaryRevision: string): boolean {
  const s = pass.status;
  if (s.phase !== 'Failed' && s.phase !== 'RollingBack') {
    pass.answer('Refused', `nothing to retry (phase ${s.phase ?? 'Waiting'})`);
    return false;
  }
  if (s.canaryRevision !== canaryRevision) {
    pass.answer(
      'Refused',
      `the canary is at another revision (${canaryRevision}) than the one rolled back`,
    );
    return false;
  }
  return true;
}

function promote(pass: Pass, request: Request): void {
  if (!steerable(pass)) return pass.answer('Refused', noRelease(pass));
  pass.request = { action: request, promote: request === 'promote-force' ? 'force' : 'check' };
}

/**
 * Reads and carries out the Rollout's pending request. Returns true when the release logic
 * must restart the rolled-back revision (a retry).
 */
export function handleRequest(pass: Pass, canaryRevision: string): boolean {
  const raw = pass.input.rollout.metadata.annotations?.[ANNOTATIONS.request];
  if (raw === undefined) return false;
  pass.actions.push({ kind: 'ackRequest', value: raw });
  pass.request = { action: raw };
  const parsed = parseRequest(raw);
  if (!parsed.ok) {
    pass.answer('Refused', parsed.message);
    return false;
  }
  switch (parsed.request) {
    case 'pause':
      pause(pass);
      return false;
    case 'resume':
      resume(pass);
      return false;
    case 'abort':
      abort(pass);
      return false;
    case 'retry':
      return retry(pass, canaryRevision);
    case 'promote':
    case 'promote-force':
      promote(pass, parsed.request);
      return false;
  }
}
