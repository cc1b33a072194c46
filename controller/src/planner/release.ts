// A release, with every target present: start it when the canary has a new revision, step
// the canary's weight while its checks pass, halt while they fail (and roll back when they
// keep failing), copy the canary's template to the primary at 100%, wait for the primary,
// then route all traffic back and scale the canary down.

import {
  ANNOTATIONS,
  IDLE_PHASES,
  LABELS,
  RELEASE_PHASES,
  UNWINDING_PHASES,
  evidenceGrows,
  formatDuration,
  inPhases,
  parseScaledDownFrom,
  promotedTemplate,
  sameTemplate,
  templateRevision,
  tryParseDuration,
} from '@steerer/common/model';
import type { PodTemplate, RolloutSpec, Role, Stage } from '@steerer/common/model';
import {
  checkAnalysis,
  checkDeployment,
  checkHpa,
  checkReadyForTraffic,
  progressDeadlineExceeded,
  rolloutProgress,
} from './gates.js';
import type { AnalysisOutcome, Gate, Halt, Targets } from './gates.js';
import { forgetGatingHooks, hookGate, reportDue } from './hooks.js';
import type { HookGate } from './hooks.js';
import { MEASUREMENT_REQUEUE_MS, WAIT_REQUEUE_MS, inFlight } from './pass.js';
import type { Pass } from './pass.js';
import { handleRequest } from './requests.js';
import {
  deadlinePassed,
  failureDuration,
  rollbackOnFailure,
  rollingBack,
  startRollback,
} from './rollback.js';
import { desiredWeights, ensureRouting, routedBack, safeWeights } from './routing.js';
import type { Action } from './types.js';

/** What a pass knows about the canary's template against the primary's. */
interface Revision {
  revision: string;
  /** The primary's template once the canary's is promoted onto it. */
  wanted: PodTemplate;
  /** The primary already runs the canary's template. */
  inSync: boolean;
}

function revisionOf(t: Targets): Revision {
  const canaryTemplate = t.canary.spec.template;
  const wanted = promotedTemplate(
    canaryTemplate,
    t.primary.spec.template,
    t.primary.spec.selector,
    t.canary.spec.selector,
  );
  return {
    revision: templateRevision(canaryTemplate),
    wanted,
    inSync: sameTemplate(wanted, t.primary.spec.template),
  };
}

export function release(pass: Pass, spec: RolloutSpec, t: Targets): void {
  const rev = revisionOf(t);
  ensureLabels(pass, t);
  startOrRestart(pass, spec, rev);
  if (handleRequest(pass, rev.revision)) {
    pass.normal(`Retrying rollout for ${pass.name}: revision ${rev.revision}`);
    startRelease(pass, rev.revision);
    pass.answer('Done', `releasing revision ${rev.revision} again`);
  }
  const s = pass.status;
  if (inFlight(s)) {
    if (pass.prev.phase === 'Promoting' && s.canaryRevision === pass.prev.canaryRevision) {
      awaitPrimary(pass, spec, t, rev);
    } else if (s.phase === 'Paused') {
      pass.say(`Paused ${pass.name} at weight ${s.canaryWeight ?? 0}; a resume request carries on`);
    } else {
      progress(pass, spec, t, rev.wanted);
    }
  } else if (s.phase === 'RollingBack') {
    rollingBack(pass, spec, t, t.canary);
  } else {
    idle(pass, spec, t, rev);
  }
  ensureRouting(pass, t, safeWeights(desiredWeights(s), t.primary, t.canary).weights);
  ensureCanaryScale(pass, t);
  if (pass.request) pass.answer('Refused', 'not carried out in this phase');
}

/** Was this revision rolled back (and not retried)? Then it does not start again by itself. */
function rolledBack(pass: Pass, revision: string): boolean {
  const prev = pass.prev;
  return (
    (prev.phase === 'Failed' || prev.phase === 'RollingBack') && prev.canaryRevision === revision
  );
}

/** A new revision starts a release; one during a release restarts it (or ends it). */
function startOrRestart(pass: Pass, spec: RolloutSpec, rev: Revision): void {
  const prev = pass.prev;
  if (inFlight(prev) && rev.revision !== prev.canaryRevision) {
    if (rev.inSync) {
      // The canary went back to what the primary runs: nothing left to release.
      pass.normal(
        `Stopping rollout for ${pass.name}: ${pass.q(spec.canary.name)} matches ${pass.q(spec.primary.name)} again`,
      );
      pass.status.lastPromotedRevision = rev.revision;
      pass.status.canaryRevision = rev.revision;
      pass.status.phase = 'Finalising';
    } else {
      pass.normal(
        `Restarting rollout for ${pass.name}: new revision ${rev.revision} of ${pass.q(spec.canary.name)}`,
      );
      startRelease(pass, rev.revision);
    }
  } else if (
    !inFlight(prev) &&
    !rev.inSync &&
    rev.revision !== prev.lastPromotedRevision &&
    !rolledBack(pass, rev.revision)
  ) {
    pass.normal(`Starting rollout for ${pass.name}`);
    startRelease(pass, rev.revision);
  }
}

function startRelease(pass: Pass, revision: string): void {
  const s = pass.status;
  s.phase = 'Progressing';
  s.canaryRevision = revision;
  s.canaryWeight = 0;
  s.failedChecks = 0;
  s.startTime = pass.nowIso;
  s.lastProgressTime = pass.nowIso;
  // Starting counts as a check: the first step waits for healthy Deployments, and a
  // Deployment still unhealthy one interval later is reported as a halt.
  s.lastCheckTime = pass.nowIso;
  delete s.lastStepTime;
  delete s.analysis;
  delete s.failingSince;
  delete s.evidenceSince;
  delete s.failureReason;
  forgetGatingHooks(pass);
}

function idle(pass: Pass, spec: RolloutSpec, t: Targets, rev: Revision): void {
  const s = pass.status;
  if (pass.prev.phase === 'Failed') {
    // The rolled-back revision waits for a new one or a retry; nothing changes meanwhile.
    s.phase = 'Failed';
    s.canaryWeight = 0;
    return;
  }
  if (rev.inSync) {
    s.lastPromotedRevision = rev.revision;
    s.canaryRevision = rev.revision;
  }
  const finalising = s.phase === 'Finalising' || pass.prev.phase === 'Finalising';
  const released = pass.prev.phase === 'Succeeded' || finalising;
  const settled = t.weights.canary === 0 && t.routesConsistent && t.canary.spec.replicas === 0;
  if (finalising && !settled) {
    s.phase = 'Finalising';
    pass.requeue(WAIT_REQUEUE_MS);
  } else {
    s.phase = released ? 'Succeeded' : 'Initialized';
  }
  s.canaryWeight = 0;
  idleMessage(pass, spec, rev);
}

function idleMessage(pass: Pass, spec: RolloutSpec, rev: Revision): void {
  const primary = pass.q(spec.primary.name);
  const canary = pass.q(spec.canary.name);
  if (!rev.inSync) {
    pass.say(
      `${primary} was changed after revision ${rev.revision} was promoted; Steerer leaves it as it is until ${canary} changes`,
      true,
    );
  } else if (pass.status.phase === 'Initialized') {
    pass.say(`${primary} runs the canary's template; waiting for a new revision of ${canary}`);
  } else {
    pass.say(`${primary} runs revision ${rev.revision}; waiting for a new revision of ${canary}`);
  }
}

/** The first failing Deployment or HPA gate, if any. */
function healthGate(pass: Pass, t: Targets): Gate {
  // The HPA first: its scaling also shows as a canary not fully updated, less precisely.
  for (const g of [
    checkHpa(pass.input.observed.canaryHpa, t.canary, pass.ns),
    checkDeployment(t.canary, pass.ns),
    checkDeployment(t.primary, pass.ns),
  ]) {
    if (!g.ok) return g;
  }
  return { ok: true };
}

/** When the last check ran, and whether the next one is due. */
function checkClock(pass: Pass): { due: boolean; dueInMs: number } {
  const dueInMs = pass.input.config.stepIntervalMs - pass.since(pass.status.lastCheckTime);
  return { due: dueInMs <= 0, dueInMs };
}

/** When checks that keep failing are due to roll the release back, if they are failing. */
function rollbackAt(pass: Pass, spec: RolloutSpec): number | undefined {
  const since = pass.status.failingSince;
  if (!since || !rollbackOnFailure(spec, pass)) return undefined;
  return Date.parse(since) + failureDuration(spec);
}

function progress(pass: Pass, spec: RolloutSpec, t: Targets, wanted: PodTemplate): void {
  const { input } = pass;
  const s = pass.status;
  if (s.phase !== 'Halted') s.phase = 'Progressing';
  const late = deadlinePassed(spec, pass);
  if (late) return startRollback(pass, 'ProgressDeadlineExceeded', late);
  const health = healthGate(pass, t);
  const clock = checkClock(pass);
  const weight = s.canaryWeight ?? 0;
  // What a pass would let the release do: the next step, or (from 100%) the promotion,
  // which needs the most evidence. A person's promote request is judged as a step to 100%:
  // the check's own bound, at a step's confidence; the automatic promotion waits for more.
  const stage: Stage =
    weight >= 100
      ? { kind: 'promotion' }
      : {
          kind: 'step',
          nextWeight: pass.request?.promote ? 100 : Math.min(100, weight + spec.stepWeight),
        };
  const outcome = checkAnalysis(
    spec,
    input.analysis,
    pass.ns,
    pass.now,
    input.config.maxSampleAgeMs,
    stage,
  );
  if (pass.request?.promote) return promoteNow(pass, spec, t, wanted, gateOf(health, outcome));
  if ((s.canaryWeight ?? 0) === 0) return firstStep(pass, spec, t, health, clock);
  // The step's rollout hooks run beside its checks; at 100% the confirm-promotion hooks are
  // asked (and asked again) until they say yes.
  const hook = hookGate(pass, 'rollout', weight);
  const confirm: HookGate = weight >= 100 ? hookGate(pass, 'confirm-promotion') : { kind: 'pass' };
  if (outcome.kind === 'pending' && health.ok) {
    // Never judge without a measurement: look again once the first one has arrived.
    pass.requeue(clock.due ? MEASUREMENT_REQUEUE_MS : clock.dueInMs);
    return;
  }
  judge(pass, spec, t, wanted, { health, clock, outcome, hook, confirm });
}

interface Judgement {
  health: Gate;
  clock: { due: boolean; dueInMs: number };
  outcome: AnalysisOutcome;
  /** The rollout hooks of this step, and (at 100%) the confirm-promotion hooks. */
  hook: HookGate;
  confirm: HookGate;
}

/** Looks again at the next check, or at the rollback time if that comes first. */
function requeueUntilDue(pass: Pass, dueInMs: number, backAt: number | undefined): void {
  pass.requeue(dueInMs);
  // An overdue rollback waits for the next measured failure, at the next check.
  if (backAt !== undefined && backAt > pass.now) pass.requeue(backAt - pass.now);
}

/**
 * A measured failure (or an unhealthy Deployment) halts at once, between steps; checks that
 * keep failing roll back on time; passing checks only advance at the step interval.
 */
function judge(pass: Pass, spec: RolloutSpec, t: Targets, wanted: PodTemplate, j: Judgement): void {
  const s = pass.status;
  const analysis = j.outcome.kind === 'judged' ? j.outcome : undefined;
  // A failed rollout hook is a failed check: it halts at once and counts toward rollback.
  const measuredFailure = analysis?.status.result === 'Fail' || j.hook.kind === 'fail';
  const backAt = rollbackAt(pass, spec);
  const rollbackDue = measuredFailure && backAt !== undefined && pass.now >= backAt;
  const early = (s.phase === 'Progressing' && (!j.health.ok || measuredFailure)) || rollbackDue;
  if (!j.clock.due && !early) return requeueUntilDue(pass, j.clock.dueInMs, backAt);
  s.lastCheckTime = pass.nowIso;
  pass.requeue(pass.input.config.stepIntervalMs);
  if (j.health.ok && j.outcome.kind === 'waiting' && j.hook.kind !== 'fail') {
    return waitForRequests(pass, j.outcome);
  }
  if (j.health.ok && analysis) s.analysis = { ...analysis.status, time: pass.nowIso };
  const gate = withHook(gateOf(j.health, j.outcome), j.hook);
  if (rollbackDue && !gate.ok) {
    const failing = formatDuration(pass.since(s.failingSince));
    return startRollback(
      pass,
      'RolledBack',
      `its checks have failed for ${failing}: ${gate.message}`,
    );
  }
  trackFailure(pass, spec, analysis, j.hook.kind === 'fail');
  if (!gate.ok) haltCheck(pass, gate);
  else advance(pass, spec, t, wanted, j);
}

/** The checks pass: step, or promote — once the hooks of the step (and at 100%, the confirmation) agree. */
function advance(
  pass: Pass,
  spec: RolloutSpec,
  t: Targets,
  wanted: PodTemplate,
  j: Judgement,
): void {
  const weight = pass.status.canaryWeight ?? 0;
  if (j.hook.kind === 'running') waitForHook(pass, j.hook.message);
  else if (weight < 100) step(pass, spec, weight);
  else if (j.confirm.kind !== 'pass') waitForConfirmation(pass, j.confirm.message);
  else startPromotion(pass, spec, t, wanted);
}

/**
 * A failed hook fails the gate, unless a Deployment or a measured check failed first; it
 * outweighs checks that have too little data to judge. A running one is waited for elsewhere.
 */
function withHook(gate: Gate, hook: HookGate): Gate {
  if (hook.kind !== 'fail') return gate;
  if (!gate.ok && gate.reason !== 'NoMetricData' && gate.reason !== 'MetricsUnavailable') {
    return gate;
  }
  return { ok: false, reason: 'HookFailed', message: hook.message };
}

/** The step's checks pass and its rollout hooks have not answered yet: no step, no halt. */
function waitForHook(pass: Pass, message: string): void {
  pass.status.phase = 'Progressing';
  pass.say(`Waiting for ${pass.name}: ${message}`);
}

/**
 * At 100% the checks pass and a confirm-promotion hook has not said yes: the release waits
 * at the gate (waiting for a person is progress: the deadline does not roll it back).
 */
function waitForConfirmation(pass: Pass, message: string): void {
  const s = pass.status;
  s.phase = 'Progressing';
  s.lastProgressTime = pass.nowIso;
  pass.say(`Waiting for ${pass.name} to be confirmed before promotion: ${message}`);
}

/**
 * Too few requests to judge: neither a step nor a halt, and no failed check. The status
 * says how many more are needed. Requests still arriving count as progress (the deadline
 * waits for them) while the evidence window still grows; once it is at its cap, only a
 * new high of its count does (a sliding window's count wobbles from look to look).
 */
function waitForRequests(pass: Pass, outcome: Extract<AnalysisOutcome, { kind: 'waiting' }>): void {
  const s = pass.status;
  const a = outcome.status;
  const seen = a.samples ?? 0;
  const prev = pass.prev.analysis;
  const peak =
    prev?.result === 'Waiting' ? (prev.peakSamples ?? prev.samples ?? 0) : (prev?.samples ?? 0);
  const windowMs = tryParseDuration(a.window);
  const arriving =
    (a.requestRate ?? 0) > 0 &&
    windowMs !== undefined &&
    evidenceGrows(windowMs, a.evidenceWindow ? tryParseDuration(a.evidenceWindow) : undefined);
  if (seen > peak || arriving) s.lastProgressTime = pass.nowIso;
  s.analysis = { ...outcome.status, peakSamples: Math.max(peak, seen), time: pass.nowIso };
  s.phase = 'Progressing';
  // One event when a release starts waiting (the counts in the message change every look).
  if (pass.prev.analysis?.result !== 'Waiting') {
    const check = outcome.status.check ?? 'a check';
    pass.normal(
      `Waiting for requests to judge ${pass.name}: ${check} has too few to ${nextStepWords(s.canaryWeight ?? 0)}`,
    );
  }
  pass.say(`Waiting for ${pass.name}: ${outcome.message}`);
}

function nextStepWords(weight: number): string {
  return weight >= 100 ? 'promote' : 'advance';
}

/** The gate that decides: health first, then the checks (pending and waiting do not pass). */
function gateOf(health: Gate, outcome: AnalysisOutcome): Gate {
  if (!health.ok) return health;
  switch (outcome.kind) {
    case 'pending':
      return {
        ok: false,
        reason: 'MetricsUnavailable',
        message: `no measurement of ${outcome.check} yet`,
      };
    case 'waiting':
      return { ok: false, reason: 'NoMetricData', message: outcome.message };
    case 'judged':
      return outcome.gate;
  }
}

/**
 * The failure rule's clock: starts at the first measured failure, stops at a pass. A pass
 * after a failure also restarts the evidence: the promotion is judged on requests served
 * since the canary recovered, not on a mix with those of its failure.
 */
function trackFailure(
  pass: Pass,
  spec: RolloutSpec,
  analysis: Extract<AnalysisOutcome, { kind: 'judged' }> | undefined,
  hookFailed = false,
): void {
  const s = pass.status;
  if (analysis?.status.result === 'Pass' && !hookFailed) {
    if (s.failingSince) s.evidenceSince = pass.nowIso;
    delete s.failingSince;
  } else if (analysis?.status.result === 'Fail' || hookFailed) {
    s.failingSince ??= pass.nowIso;
    const at = rollbackAt(pass, spec);
    if (at !== undefined) pass.requeue(at - pass.now);
  }
}

/** A promote request: promote now if the checks pass, or at once when forced. */
function promoteNow(
  pass: Pass,
  spec: RolloutSpec,
  t: Targets,
  wanted: PodTemplate,
  gate: Gate,
): void {
  if (pass.request?.promote === 'force') {
    startPromotion(pass, spec, t, wanted);
    return pass.answer('Done', 'promoting now, skipping the remaining steps and the checks');
  }
  if (!gate.ok) {
    pass.requeue(pass.input.config.stepIntervalMs);
    return pass.answer(
      'Refused',
      `the checks do not pass (${gate.message}); promote-force promotes anyway`,
    );
  }
  startPromotion(pass, spec, t, wanted);
  pass.answer('Done', 'promoting now, skipping the remaining steps');
}

/**
 * Nothing is routed to the canary yet, so there is nothing to measure: advance as soon
 * as both Deployments are healthy and the canary has a ready pod, halting only if they
 * stay unhealthy.
 */
function firstStep(
  pass: Pass,
  spec: RolloutSpec,
  t: Targets,
  health: Gate,
  clock: { due: boolean; dueInMs: number },
): void {
  const ready = health.ok ? checkReadyForTraffic(t.canary, pass.ns) : health;
  const pre: HookGate = ready.ok ? hookGate(pass, 'pre-rollout') : { kind: 'pass' };
  if (ready.ok && pre.kind === 'pass') {
    delete pass.status.failingSince;
    step(pass, spec, 0);
  } else if (pre.kind === 'fail') preRolloutFailed(pass, spec, pre.message, clock);
  else if (clock.due && !ready.ok) haltCheck(pass, ready);
  else {
    pass.say(
      `Waiting for ${pass.name} to start: ${ready.ok ? (pre.kind === 'running' ? pre.message : '') : ready.message}`,
    );
    pass.requeue(Math.min(WAIT_REQUEUE_MS, clock.dueInMs));
  }
}

/**
 * A failed pre-rollout hook is a failed check: it halts the release before its first step
 * (at once, then at every check) and rolls it back by the rollback rule.
 */
function preRolloutFailed(
  pass: Pass,
  spec: RolloutSpec,
  message: string,
  clock: { due: boolean; dueInMs: number },
): void {
  const s = pass.status;
  const backAt = rollbackAt(pass, spec);
  if (backAt !== undefined && pass.now >= backAt) {
    const failing = formatDuration(pass.since(s.failingSince));
    return startRollback(pass, 'RolledBack', `its hooks have failed for ${failing}: ${message}`);
  }
  if (!clock.due && s.phase === 'Halted') return requeueUntilDue(pass, clock.dueInMs, backAt);
  trackFailure(pass, spec, undefined, true);
  haltCheck(pass, { ok: false, reason: 'HookFailed', message });
}

/** 100% of traffic on the canary and its checks hold: copy its template to the primary. */
function startPromotion(pass: Pass, spec: RolloutSpec, t: Targets, wanted: PodTemplate): void {
  pass.status.phase = 'Promoting';
  pass.status.lastProgressTime = pass.nowIso;
  delete pass.status.failingSince;
  pass.announce(
    `Copying ${pass.q(spec.canary.name)} template spec to ${pass.q(spec.primary.name)}`,
  );
  pass.actions.push(promoteAction(t, wanted));
  pass.requeue(WAIT_REQUEUE_MS);
}

function promoteAction(t: Targets, template: PodTemplate): Action {
  return {
    kind: 'promote',
    name: t.primary.metadata.name,
    // Without one (never from a cache) the guard fails the patch rather than skip the test.
    resourceVersion: t.primary.metadata.resourceVersion ?? '',
    template,
  };
}

function step(pass: Pass, spec: RolloutSpec, from: number): void {
  const s = pass.status;
  const to = Math.min(100, from + spec.stepWeight);
  s.canaryWeight = to;
  s.phase = 'Progressing';
  s.lastStepTime = pass.nowIso;
  s.lastCheckTime = pass.nowIso;
  s.lastProgressTime = pass.nowIso;
  pass.announce(`Advance rollout ${pass.name} weight ${to}`);
  pass.requeue(pass.input.config.stepIntervalMs);
  // The new step's rollout hooks are called now, beside its checks.
  hookGate(pass, 'rollout', to);
}

function haltCheck(pass: Pass, gate: Halt): void {
  const s = pass.status;
  s.phase = 'Halted';
  s.lastCheckTime = pass.nowIso;
  s.failedChecks = (s.failedChecks ?? 0) + 1;
  pass.say(`Halt rollout ${pass.name} ${gate.message}`);
  pass.warning(`Halt rollout ${pass.name} ${gate.message}`);
  pass.requeue(pass.input.config.stepIntervalMs);
}

/** The canary's template was copied to the primary: wait for the primary's rollout. */
function awaitPrimary(pass: Pass, spec: RolloutSpec, t: Targets, rev: Revision): void {
  const s = pass.status;
  s.phase = 'Promoting';
  pass.requeue(WAIT_REQUEUE_MS);
  if (!rev.inSync) {
    // The copy has not landed (or was undone): make it again; it is idempotent.
    pass.actions.push(promoteAction(t, rev.wanted));
    return;
  }
  const primaryName = pass.q(spec.primary.name);
  const p = rolloutProgress(t.primary);
  const stuck = progressDeadlineExceeded(t.primary);
  if (p.done) {
    // The primary runs the canary's revision: route everything back and scale down.
    s.lastPromotedRevision = s.canaryRevision;
    s.phase = 'Finalising';
    s.canaryWeight = 0;
    reportDue(pass, 'post-rollout');
    pass.announce(`Promotion complete! Scaling down ${pass.q(spec.canary.name)}`);
  } else if (stuck !== undefined) {
    pass.say(
      `Halt rollout ${pass.name} ${primaryName} has exceeded its progress deadline: ${stuck}`,
      true,
    );
  } else if (!p.observed) {
    pass.say(`Waiting for ${primaryName} rollout to start`);
  } else {
    // Reported as the primary's rollout proceeds: one event per change of progress.
    pass.say(`Waiting for ${primaryName} rollout to finish: ${p.describe}`, true);
  }
}

/** The replicas a canary gets when a release needs it and it sits at zero. */
function scaleUpTo(pass: Pass, t: Targets): number {
  const hpa = pass.input.observed.canaryHpa;
  if (hpa) return hpa.spec.minReplicas ?? 1;
  return parseScaledDownFrom(t.canary.metadata.annotations?.[ANNOTATIONS.scaledDownFrom]) ?? 1;
}

/**
 * The canary has pods while a release needs them, keeps them while traffic is going back
 * to the primary (until the route has settled), and has none otherwise.
 */
function ensureCanaryScale(pass: Pass, t: Targets): void {
  const name = t.canary.metadata.name;
  const replicas = t.canary.spec.replicas ?? 1;
  const phase = pass.status.phase;
  const hpaMin = pass.input.observed.canaryHpa?.spec.minReplicas;
  if (inPhases(phase, RELEASE_PHASES)) {
    if (replicas === 0)
      pass.actions.push({ kind: 'scaleCanary', name, replicas: scaleUpTo(pass, t) });
    // Fewer replicas than the canary's HPA keeps (a manifest re-applied with its own
    // `replicas`): give it the minimum now rather than halting until the HPA's next sync.
    else if (hpaMin !== undefined && hpaMin > replicas)
      pass.actions.push({ kind: 'scaleCanary', name, replicas: hpaMin });
    return;
  }
  const down =
    inPhases(phase, IDLE_PHASES) || (inPhases(phase, UNWINDING_PHASES) && routedBack(pass, t));
  if (down && replicas !== 0)
    pass.actions.push({ kind: 'scaleCanary', name, replicas: 0, remember: replicas });
}

function ensureLabels(pass: Pass, t: Targets): void {
  const rollout = pass.input.rollout.metadata.name;
  const targets: { name: string; role: Role }[] = [];
  for (const [d, role] of [
    [t.primary, 'primary'],
    [t.canary, 'canary'],
  ] as const) {
    const labels = d.metadata.labels;
    if (labels?.[LABELS.rollout] !== rollout || labels[LABELS.role] !== role) {
      targets.push({ name: d.metadata.name, role });
    }
  }
  if (targets.length > 0) pass.actions.push({ kind: 'labelTargets', rollout, targets });
}
