// Lifecycle webhooks in the planner: which calls are wanted in this pass, what their latest
// results (the runner's, or status's after a restart) say, and the status entries. The
// calls themselves are made off the reconcile loop by controller/src/hooks/runner.ts,
// which wakes the Rollout when one ends.
//
// Every call is about (revision, hook) — for rollout hooks (revision, weight, hook) — and
// a call recorded as Succeeded in status for that is never made again, after a restart too.

import { GATING_HOOK_TYPES, HOOK_LIMITS, hookTitle } from '@steerer/common/model';
import type { HookSpec, HookStatus, HookType } from '@steerer/common/model';
import type { Pass } from './pass.js';

export type HookGate =
  | { kind: 'pass' }
  /** A call is under way or not yet made. */
  | { kind: 'running'; message: string }
  /** The last attempt of a call failed (for confirm-promotion: the answer was no). */
  | { kind: 'fail'; message: string };

function idOf(revision: string, weight: number | undefined): string {
  return weight === undefined ? revision : `${revision}@${weight}`;
}

function statusId(h: HookStatus): string {
  return idOf(h.revision, h.weight);
}

/** The hook's latest state for `id`: the runner's result when newer than status's entry. */
function current(pass: Pass, hook: HookSpec, id: string): HookStatus | undefined {
  const prev = pass.status.hooks?.find(
    (h) => h.name === hook.name && h.type === hook.type && statusId(h) === id,
  );
  const r = pass.input.hooks?.get(hook.name)?.find((x) => x.id === id);
  if (!r) return prev;
  if (prev && r.attempts < prev.attempts) return prev;
  if (prev && r.attempts === prev.attempts && prev.phase !== 'Pending' && r.phase === 'Running') {
    return prev;
  }
  const at = r.phase === 'Running' && prev ? prev.lastTime : new Date(r.at).toISOString();
  return {
    name: hook.name,
    type: hook.type,
    revision: prev?.revision ?? id.split('@')[0] ?? id,
    ...(prev?.weight !== undefined ? { weight: prev.weight } : {}),
    phase: r.phase,
    attempts: r.attempts,
    lastTime: at,
    ...(r.code !== undefined ? { code: r.code } : {}),
    ...(r.message !== undefined ? { message: r.message } : {}),
  };
}

/** Puts the hook's entry in status (one entry per hook name: its latest call). */
function setEntry(pass: Pass, entry: HookStatus): void {
  const list = (pass.status.hooks ?? []).filter((h) => h.name !== entry.name);
  list.push(entry);
  pass.status.hooks = list;
}

function want(pass: Pass, hook: HookSpec, entry: HookStatus, maxAttempts?: number): void {
  const s = pass.status;
  // One call per hook and pass: the latest wanted (a step replaces its weight's call).
  const i = pass.hookCalls.findIndex((c) => c.hook.name === hook.name);
  if (i !== -1) pass.hookCalls.splice(i, 1);
  pass.hookCalls.push({
    id: statusId(entry),
    hook,
    payload: {
      name: pass.input.rollout.metadata.name,
      namespace: pass.ns,
      phase: s.phase ?? 'Progressing',
      revision: entry.revision,
      weight: entry.weight ?? s.canaryWeight ?? 0,
      hook: { name: hook.name, type: hook.type },
      metadata: hook.metadata,
    },
    priorAttempts: entry.attempts,
    ...(maxAttempts !== undefined ? { maxAttempts } : {}),
  });
}

/**
 * The gate of the release's hooks of a gating type (for rollout hooks, at `weight`): calls
 * every one not yet succeeded for this revision, and says whether they all have.
 */
export function hookGate(pass: Pass, type: HookType, weight?: number): HookGate {
  const revision = pass.status.canaryRevision ?? '';
  const w = type === 'rollout' ? weight : undefined;
  const failed: string[] = [];
  const running: string[] = [];
  for (const hook of pass.hookSpecs.filter((h) => h.type === type)) {
    const id = idOf(revision, w);
    const entry: HookStatus = current(pass, hook, id) ?? {
      name: hook.name,
      type: hook.type,
      revision,
      ...(w !== undefined ? { weight: w } : {}),
      phase: 'Pending',
      attempts: 0,
      lastTime: pass.nowIso,
    };
    setEntry(pass, entry);
    if (entry.phase === 'Succeeded') continue;
    want(pass, hook, entry);
    if (entry.phase === 'Failed') {
      // The halt's message leaves the attempt out, so repeated halts aggregate as one event.
      const answer = entry.message ?? 'failed';
      failed.push(
        type === 'confirm-promotion'
          ? `${hookTitle(hook)} has not said yes (${answer}, attempt ${entry.attempts})`
          : `${hookTitle(hook)} failed: ${answer}`,
      );
    } else running.push(hookTitle(hook));
  }
  if (failed.length > 0) return { kind: 'fail', message: failed.join('; ') };
  if (running.length > 0) return { kind: 'running', message: `waiting for ${running.join(', ')}` };
  return { kind: 'pass' };
}

/**
 * Makes the reporting hooks of `type` due for the current revision (post-rollout when the
 * promotion completes, rollback when a rollback starts); reportHooks calls them from then on.
 */
export function reportDue(pass: Pass, type: 'post-rollout' | 'rollback'): void {
  for (const hook of pass.hookSpecs.filter((h) => h.type === type)) {
    setEntry(pass, {
      name: hook.name,
      type,
      revision: pass.status.canaryRevision ?? '',
      phase: 'Pending',
      attempts: 0,
      lastTime: pass.nowIso,
    });
  }
}

/** Calls the reporting hooks that are due and not finished (bounded attempts). */
function reportHooks(pass: Pass): void {
  for (const hook of pass.hookSpecs) {
    if (GATING_HOOK_TYPES.includes(hook.type)) continue;
    const entry = pass.status.hooks?.find((h) => h.name === hook.name && h.type === hook.type);
    if (!entry) continue;
    const latest = current(pass, hook, statusId(entry)) ?? entry;
    setEntry(pass, latest);
    const gaveUp = latest.phase === 'Failed' && latest.attempts >= HOOK_LIMITS.reportAttempts;
    if (latest.phase !== 'Succeeded' && !gaveUp) {
      want(pass, hook, latest, HOOK_LIMITS.reportAttempts);
    }
  }
}

/** A new release: the gating hooks' entries of the last one go. */
export function forgetGatingHooks(pass: Pass): void {
  const left = pass.status.hooks?.filter((h) => !GATING_HOOK_TYPES.includes(h.type));
  if (left && left.length > 0) pass.status.hooks = left;
  else delete pass.status.hooks;
}

/**
 * At the end of a pass: entries of hooks no longer in the spec go, and the reporting hooks
 * that are due are called.
 */
export function finishHooks(pass: Pass): void {
  const hooks = pass.status.hooks;
  if (!hooks) return;
  const kept = hooks.filter((h) =>
    pass.hookSpecs.some((s) => s.name === h.name && s.type === h.type),
  );
  if (kept.length > 0) pass.status.hooks = kept;
  else delete pass.status.hooks;
  reportHooks(pass);
}
