// The rollout planner: (Rollout, observed objects, latest analysis, now) → (new status,
// actions, events, when to look again). Pure and deterministic; every Kubernetes and
// Prometheus interaction happens elsewhere. Each pass recomputes everything from what
// it observes and from the Rollout's status, so a restarted controller carries on.
//
// The stages follow the seed document: check targets → check Deployments (rolling
// update, pod health, HPA) → raise the canary weight step by step while its success
// rate holds → copy the canary's template to the primary → wait for the primary's
// rollout → route all traffic back to the primary → scale the canary to zero.

import {
  ANNOTATIONS,
  LABELS,
  formatFieldErrors,
  parseWeightsAnnotation,
  promotedTemplate,
  qualified,
  sameTemplate,
  templateRevision,
  validateRolloutSpec,
} from '@steerer/common';
import type {
  AnalysisStatus,
  Deployment,
  Phase,
  RolloutSpec,
  RolloutStatus,
} from '@steerer/common';
import { desiredConditions, mergeConditions } from './conditions.js';
import {
  checkAnalysis,
  checkDeployment,
  checkHpa,
  checkTargets,
  rolloutProgress,
  windowOf,
} from './gates.js';
import type { Gate, Targets } from './gates.js';
import type { Action, AnalysisSample, Plan, PlanInput, PlannedEvent } from './types.js';

const ACTIVE_PHASES: readonly Phase[] = ['Progressing', 'Halted', 'Promoting'];
/** The shortest requeue, so a due check is never scheduled in the past. */
const MIN_REQUEUE_MS = 100;
/** How often to look at a release that waits on something other than time. */
const WAIT_REQUEUE_MS = 5000;

/** Mutable working state of one planning pass. */
class Pass {
  readonly status: RolloutStatus;
  readonly actions: Action[] = [];
  readonly events: PlannedEvent[] = [];
  requeueAfterMs: number | undefined;
  wantsAnalysis = false;
  stalledReason: string | undefined;

  constructor(
    readonly input: PlanInput,
    readonly name: string,
  ) {
    this.status = structuredClone(input.rollout.status ?? {});
  }

  get prev(): RolloutStatus {
    return this.input.rollout.status ?? {};
  }
  get nowIso(): string {
    return new Date(this.input.now).toISOString();
  }
  normal(message: string): void {
    this.events.push({ type: 'Normal', message });
  }
  warning(message: string): void {
    this.events.push({ type: 'Warning', message });
  }
  requeue(ms: number): void {
    const v = Math.max(MIN_REQUEUE_MS, Math.round(ms));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? v : Math.min(this.requeueAfterMs, v);
  }
  /** Sets the status message; a Warning event is recorded only when it changes. */
  say(message: string, warnIfNew = false): void {
    if (warnIfNew && message !== this.prev.message) this.warning(message);
    this.status.message = message;
  }
}

export function plan(input: PlanInput): Plan {
  const { rollout } = input;
  const ns = rollout.metadata.namespace;
  const pass = new Pass(input, qualified(rollout.metadata.name, ns));
  const parsed = validateRolloutSpec(rollout.spec);
  let spec: RolloutSpec | undefined;
  if (!parsed.ok) {
    wait(pass, 'InvalidSpec', `invalid spec: ${formatFieldErrors(parsed.errors)}`);
  } else {
    spec = parsed.value;
    const t = checkTargets(spec, ns, input.observed);
    if (!t.ok) wait(pass, t.reason, t.message);
    else release(pass, spec, t.targets);
  }
  return finish(pass, spec);
}

function wait(pass: Pass, reason: string, message: string): void {
  pass.status.phase = 'Waiting';
  pass.stalledReason = reason;
  pass.say(`Halt rollout ${pass.name} ${message}`, true);
}

function inFlight(s: RolloutStatus): boolean {
  return s.canaryRevision !== undefined && s.canaryRevision !== s.lastPromotedRevision;
}

function release(pass: Pass, spec: RolloutSpec, t: Targets): void {
  const { input } = pass;
  const ns = input.rollout.metadata.namespace;
  const canaryTemplate = t.canary.spec.template;
  const revision = templateRevision(canaryTemplate);
  const wanted = promotedTemplate(
    canaryTemplate,
    t.primary.spec.template,
    t.primary.spec.selector,
    t.canary.spec.selector,
  );
  const inSync = sameTemplate(wanted, t.primary.spec.template);
  const s = pass.status;
  const canaryName = qualified(spec.canary.name, ns);
  const primaryName = qualified(spec.primary.name, ns);

  ensureLabels(pass, t);

  if (inFlight(pass.prev) && revision !== pass.prev.canaryRevision) {
    if (inSync) {
      // The canary went back to what the primary runs: nothing left to release.
      pass.normal(`Stopping rollout for ${pass.name}: ${canaryName} matches ${primaryName} again`);
      s.lastPromotedRevision = revision;
      s.canaryRevision = revision;
      s.phase = 'Finalising';
    } else {
      pass.normal(`Restarting rollout for ${pass.name}: new revision ${revision} of ${canaryName}`);
      startRelease(pass, revision);
    }
  } else if (!inFlight(pass.prev)) {
    if (!inSync && revision !== pass.prev.lastPromotedRevision) {
      pass.normal(`Starting rollout for ${pass.name}`);
      startRelease(pass, revision);
    }
  }

  if (inFlight(s)) {
    if (pass.prev.phase === 'Promoting' && s.canaryRevision === pass.prev.canaryRevision) {
      promote(pass, spec, t, wanted, inSync);
    } else {
      progress(pass, spec, t, wanted);
    }
  } else {
    idle(pass, spec, t, revision, inSync);
  }
  ensureRouting(pass, t);
  ensureCanaryScale(pass, t);
}

function startRelease(pass: Pass, revision: string): void {
  const s = pass.status;
  s.phase = 'Progressing';
  s.canaryRevision = revision;
  s.canaryWeight = 0;
  s.failedChecks = 0;
  s.startTime = pass.nowIso;
  // Starting counts as a check: the first step waits for healthy Deployments, and a
  // Deployment still unhealthy one interval later is reported as a halt.
  s.lastCheckTime = pass.nowIso;
  delete s.lastStepTime;
  delete s.analysis;
}

function idle(pass: Pass, spec: RolloutSpec, t: Targets, revision: string, inSync: boolean): void {
  const s = pass.status;
  const ns = pass.input.rollout.metadata.namespace;
  if (inSync) {
    s.lastPromotedRevision = revision;
    s.canaryRevision = revision;
  }
  const released =
    pass.prev.phase === 'Succeeded' || pass.prev.phase === 'Finalising' || s.phase === 'Finalising';
  const settled = t.weights.canary === 0 && t.routesConsistent && t.canary.spec.replicas === 0;
  if (!settled && (s.phase === 'Finalising' || pass.prev.phase === 'Finalising')) {
    s.phase = 'Finalising';
    pass.requeue(WAIT_REQUEUE_MS);
  } else {
    s.phase = released ? 'Succeeded' : 'Initialized';
  }
  s.canaryWeight = 0;
  if (inSync) {
    pass.say(
      s.phase === 'Initialized'
        ? `${qualified(spec.primary.name, ns)} runs the canary's template; waiting for a new revision of ${qualified(spec.canary.name, ns)}`
        : `${qualified(spec.primary.name, ns)} runs revision ${revision}; waiting for a new revision of ${qualified(spec.canary.name, ns)}`,
    );
  } else {
    pass.say(
      `${qualified(spec.primary.name, ns)} was changed after revision ${revision} was promoted; Steerer leaves it as it is until ${qualified(spec.canary.name, ns)} changes`,
      true,
    );
  }
}

/** The first failing Deployment or HPA gate, if any. */
function healthGate(t: Targets, ns: string, hpa: PlanInput['observed']['canaryHpa']): Gate {
  for (const g of [
    checkDeployment(t.canary, ns),
    checkDeployment(t.primary, ns),
    checkHpa(hpa, t.canary, ns),
  ]) {
    if (!g.ok) return g;
  }
  return { ok: true };
}

function analysisStatus(
  sample: AnalysisSample | undefined,
  spec: RolloutSpec,
  gate: Gate,
  now: string,
): AnalysisStatus {
  const a: AnalysisStatus = {
    result: gate.ok
      ? 'Pass'
      : gate.reason === 'LowSuccessRate'
        ? 'Fail'
        : gate.reason === 'NoMetricData'
          ? 'NoData'
          : 'Error',
    threshold: spec.metric.threshold,
    window: windowOf(sample, spec),
    time: now,
  };
  if (sample?.kind === 'ok' && Number.isFinite(sample.successRate)) {
    a.successRate = Math.round(sample.successRate * 100) / 100;
    a.requestRate = Math.round(sample.requestRate * 1000) / 1000;
  }
  if (!gate.ok) a.message = gate.message;
  return a;
}

function progress(
  pass: Pass,
  spec: RolloutSpec,
  t: Targets,
  wanted: Deployment['spec']['template'],
): void {
  const { input } = pass;
  const s = pass.status;
  const ns = input.rollout.metadata.namespace;
  const interval = input.config.stepIntervalMs;
  const weight = s.canaryWeight ?? 0;
  if (s.phase !== 'Halted') s.phase = 'Progressing';
  const health = healthGate(t, ns, input.observed.canaryHpa);
  const lastCheck = s.lastCheckTime ? Date.parse(s.lastCheckTime) : Number.NEGATIVE_INFINITY;
  const due = input.now >= lastCheck + interval;

  if (weight === 0) {
    // Nothing is routed to the canary yet, so there is nothing to measure: advance as
    // soon as both Deployments are healthy, halting only if they stay unhealthy.
    if (health.ok) {
      step(pass, spec, 0);
    } else if (due) {
      haltCheck(pass, health);
    } else {
      pass.say(`Waiting for ${pass.name} to start: ${health.message}`);
      pass.requeue(Math.min(WAIT_REQUEUE_MS, lastCheck + interval - input.now));
    }
    return;
  }

  pass.wantsAnalysis = true;
  const sample = input.analysis;
  const analysis = checkAnalysis(sample, spec, ns, input.now, input.config.maxSampleAgeMs);
  // A measured failure (or an unhealthy Deployment) halts at once, between steps;
  // passing checks only advance at the step interval.
  const measuredFailure = !analysis.ok && analysis.reason === 'LowSuccessRate';
  const early = s.phase === 'Progressing' && (!health.ok || measuredFailure);
  if (!due && !early) {
    pass.requeue(lastCheck + interval - input.now);
    return;
  }
  s.lastCheckTime = pass.nowIso;
  pass.requeue(interval);
  const gate = health.ok ? analysis : health;
  if (health.ok) s.analysis = analysisStatus(sample, spec, analysis, pass.nowIso);
  if (!gate.ok) {
    haltCheck(pass, gate);
    return;
  }
  if (weight < 100) {
    step(pass, spec, weight);
    return;
  }
  // 100% of traffic on the canary and its success rate holds: promote.
  s.phase = 'Promoting';
  pass.say(
    `Copying ${qualified(spec.canary.name, ns)} template spec to ${qualified(spec.primary.name, ns)}`,
  );
  pass.normal(s.message as string);
  pass.actions.push({ kind: 'promote', template: wanted });
  pass.requeue(WAIT_REQUEUE_MS);
}

function step(pass: Pass, spec: RolloutSpec, from: number): void {
  const s = pass.status;
  const to = Math.min(100, from + spec.virtualService.weight);
  s.canaryWeight = to;
  s.phase = 'Progressing';
  s.lastStepTime = pass.nowIso;
  s.lastCheckTime = pass.nowIso;
  pass.say(`Advance rollout ${pass.name} weight ${to}`);
  pass.normal(s.message as string);
  pass.requeue(pass.input.config.stepIntervalMs);
}

function haltCheck(pass: Pass, gate: Exclude<Gate, { ok: true }>): void {
  const s = pass.status;
  s.phase = 'Halted';
  s.lastCheckTime = pass.nowIso;
  s.failedChecks = (s.failedChecks ?? 0) + 1;
  pass.say(`Halt rollout ${pass.name} ${gate.message}`);
  pass.warning(s.message as string);
  pass.requeue(pass.input.config.stepIntervalMs);
}

function promote(
  pass: Pass,
  spec: RolloutSpec,
  t: Targets,
  wanted: Deployment['spec']['template'],
  inSync: boolean,
): void {
  const s = pass.status;
  const ns = pass.input.rollout.metadata.namespace;
  const primaryName = qualified(spec.primary.name, ns);
  s.phase = 'Promoting';
  if (!inSync) {
    // The copy has not landed (or was undone): make it again; it is idempotent.
    pass.actions.push({ kind: 'promote', template: wanted });
    pass.requeue(WAIT_REQUEUE_MS);
    return;
  }
  const p = rolloutProgress(t.primary);
  if (!p.done) {
    const stuck = checkDeployment(t.primary, ns);
    if (
      !stuck.ok &&
      stuck.reason === 'UnhealthyPods' &&
      stuck.message.includes('progress deadline')
    ) {
      pass.say(`Halt rollout ${pass.name} ${stuck.message}`, true);
    } else if (!p.observed) {
      pass.say(`Waiting for ${primaryName} rollout to start`);
    } else {
      // Reported once when the wait begins; status follows the progress silently.
      const waiting = `Waiting for ${primaryName} rollout to finish: ${p.describe}`;
      if (!pass.prev.message?.startsWith(`Waiting for ${primaryName} rollout to finish`))
        pass.warning(waiting);
      pass.say(waiting);
    }
    pass.requeue(WAIT_REQUEUE_MS);
    return;
  }
  // The primary runs the canary's revision: route everything back and scale down.
  s.lastPromotedRevision = s.canaryRevision;
  s.phase = 'Finalising';
  s.canaryWeight = 0;
  pass.say(`Promotion complete! Scaling down ${qualified(spec.canary.name, ns)}`);
  pass.normal(s.message as string);
  pass.requeue(WAIT_REQUEUE_MS);
}

function desiredWeights(s: RolloutStatus): { primary: number; canary: number } {
  switch (s.phase) {
    case 'Progressing':
    case 'Halted':
      return { primary: 100 - (s.canaryWeight ?? 0), canary: s.canaryWeight ?? 0 };
    case 'Promoting':
      return { primary: 0, canary: 100 };
    case 'Waiting':
    case 'Initialized':
    case 'Finalising':
    case 'Succeeded':
    case undefined:
      return { primary: 100, canary: 0 };
  }
}

function ensureRouting(pass: Pass, t: Targets): void {
  const want = desiredWeights(pass.status);
  const found = t.weights;
  if (t.routesConsistent && found.primary === want.primary && found.canary === want.canary) return;
  pass.actions.push({ kind: 'setWeights', ...want });
  // Steerer records the weights it writes on the VirtualService. Weights that differ
  // from that record were changed by someone else: say so whenever Steerer puts them
  // back. (A pending change of Steerer's own, e.g. after a restart, is silent.)
  const written = parseWeightsAnnotation(
    t.virtualService.metadata.annotations?.[ANNOTATIONS.weights],
  );
  const changedByOthers =
    written !== undefined &&
    (!t.routesConsistent || written.primary !== found.primary || written.canary !== found.canary);
  if (changedByOthers) {
    pass.warning(
      `Restoring VirtualService ${qualified(t.virtualService.metadata.name, t.virtualService.metadata.namespace ?? '')} weights to ${want.primary}/${want.canary}: found ${found.primary}/${found.canary}, changed outside Steerer`,
    );
  }
}

function ensureCanaryScale(pass: Pass, t: Targets): void {
  const replicas = t.canary.spec.replicas ?? 1;
  const phase = pass.status.phase;
  const active = phase !== undefined && ACTIVE_PHASES.includes(phase);
  if (active && replicas === 0) {
    const hpa = pass.input.observed.canaryHpa;
    const remembered = Number.parseInt(
      t.canary.metadata.annotations?.[ANNOTATIONS.scaledDownFrom] ?? '',
      10,
    );
    const up = hpa
      ? (hpa.spec.minReplicas ?? 1)
      : Number.isFinite(remembered) && remembered > 0
        ? remembered
        : 1;
    pass.actions.push({ kind: 'scaleCanary', replicas: up });
  } else if (active && (pass.input.observed.canaryHpa?.spec.minReplicas ?? 0) > replicas) {
    // Fewer replicas than the canary's HPA keeps (a manifest re-applied with its own
    // `replicas`): give it the minimum now rather than halting until the HPA's next sync.
    pass.actions.push({
      kind: 'scaleCanary',
      replicas: pass.input.observed.canaryHpa?.spec.minReplicas ?? 1,
    });
  } else if (!active && phase !== 'Waiting' && replicas !== 0) {
    pass.actions.push({ kind: 'scaleCanary', replicas: 0, remember: replicas });
  }
}

function ensureLabels(pass: Pass, t: Targets): void {
  const name = pass.input.rollout.metadata.name;
  const has = (d: Deployment, role: string): boolean =>
    d.metadata.labels?.[LABELS.rollout] === name && d.metadata.labels?.[LABELS.role] === role;
  const primary = !has(t.primary, 'primary');
  const canary = !has(t.canary, 'canary');
  if (primary || canary) pass.actions.push({ kind: 'labelTargets', primary, canary });
}

function finish(pass: Pass, spec: RolloutSpec | undefined): Plan {
  const s = pass.status;
  const { rollout } = pass.input;
  const phase: Phase = s.phase ?? 'Waiting';
  s.phase = phase;
  if (phase !== pass.prev.phase || !s.lastTransitionTime) s.lastTransitionTime = pass.nowIso;
  if (rollout.metadata.generation !== undefined) s.observedGeneration = rollout.metadata.generation;
  s.conditions = mergeConditions(
    pass.prev.conditions,
    desiredConditions(phase, s.message ?? '', pass.stalledReason),
    pass.nowIso,
    rollout.metadata.generation,
  );
  return {
    spec,
    status: s,
    actions: pass.actions,
    events: pass.events,
    requeueAfterMs: pass.requeueAfterMs,
    wantsAnalysis: pass.wantsAnalysis,
  };
}
