// The rollout planner: (Rollout, observed objects, latest analysis, now) → (new status,
// actions, events, what to measure, when to look again). Pure and deterministic; every
// Kubernetes and Prometheus interaction happens elsewhere. Each pass recomputes everything
// from what it observes and from the Rollout's status, so a restarted controller carries on.
//
// The stages follow the seed document: check targets → check Deployments (rolling
// update, pod health, HPA) → raise the canary weight step by step while its checks pass →
// copy the canary's template to the primary → wait for the primary's rollout → route all
// traffic back to the primary → scale the canary to zero.

import {
  ANNOTATIONS,
  LABELS,
  RELEASE_PHASES,
  formatFieldErrors,
  inPhases,
  parseScaledDownFrom,
  promotedTemplate,
  qualified,
  recordedWeights,
  sameTemplate,
  templateRevision,
  validateRolloutSpec,
  weightAnnotationOps,
} from '@steerer/common/model';
import type {
  Phase,
  PodTemplate,
  RolloutSpec,
  RolloutStatus,
  Role,
  Weights,
} from '@steerer/common/model';
import { desiredConditions, mergeConditions } from './conditions.js';
import {
  checkAnalysis,
  checkDeployment,
  checkHpa,
  checkTargets,
  progressDeadlineExceeded,
  rolloutProgress,
} from './gates.js';
import type { Gate, Halt, Targets } from './gates.js';
import type { Action, Plan, PlanInput, PlannedEvent, Subscription } from './types.js';

/** The shortest requeue, so a due check is never scheduled in the past. */
const MIN_REQUEUE_MS = 100;
/** How often to look at a release that waits on something other than time. */
const WAIT_REQUEUE_MS = 5000;
/** How soon to look again while a check waits for its first measurement. */
const MEASUREMENT_REQUEUE_MS = 1000;

/** Mutable working state of one planning pass. */
class Pass {
  readonly status: RolloutStatus;
  readonly actions: Action[] = [];
  readonly events: PlannedEvent[] = [];
  requeueAfterMs: number | undefined;
  stalledReason: string | undefined;

  constructor(
    readonly input: PlanInput,
    readonly name: string,
  ) {
    this.status = structuredClone(input.rollout.status ?? {});
  }

  get ns(): string {
    return this.input.rollout.metadata.namespace;
  }
  get prev(): RolloutStatus {
    return this.input.rollout.status ?? {};
  }
  get nowIso(): string {
    return new Date(this.input.now).toISOString();
  }
  /** "name.namespace" of an object in the Rollout's namespace. */
  q(name: string): string {
    return qualified(name, this.ns);
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
  /** Sets the status message and records it as a Normal event. */
  announce(message: string): void {
    this.status.message = message;
    this.normal(message);
  }
}

export function plan(input: PlanInput): Plan {
  const { rollout } = input;
  const pass = new Pass(input, qualified(rollout.metadata.name, rollout.metadata.namespace));
  const parsed = validateRolloutSpec(rollout.spec);
  let spec: RolloutSpec | undefined;
  if (!parsed.ok) {
    wait(pass, 'InvalidSpec', `invalid spec: ${formatFieldErrors(parsed.errors)}`);
  } else {
    spec = parsed.value;
    const t = checkTargets(spec, pass.ns, input.observed);
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

function release(pass: Pass, spec: RolloutSpec, t: Targets): void {
  const rev = revisionOf(t);
  ensureLabels(pass, t);
  startOrRestart(pass, spec, rev);
  const s = pass.status;
  if (inFlight(s)) {
    if (pass.prev.phase === 'Promoting' && s.canaryRevision === pass.prev.canaryRevision) {
      promote(pass, spec, t, rev);
    } else {
      progress(pass, spec, t, rev.wanted);
    }
  } else {
    idle(pass, spec, t, rev);
  }
  ensureRouting(pass, t);
  ensureCanaryScale(pass, t);
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
  } else if (!inFlight(prev) && !rev.inSync && rev.revision !== prev.lastPromotedRevision) {
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
  // Starting counts as a check: the first step waits for healthy Deployments, and a
  // Deployment still unhealthy one interval later is reported as a halt.
  s.lastCheckTime = pass.nowIso;
  delete s.lastStepTime;
  delete s.analysis;
}

function idle(pass: Pass, spec: RolloutSpec, t: Targets, rev: Revision): void {
  const s = pass.status;
  if (rev.inSync) {
    s.lastPromotedRevision = rev.revision;
    s.canaryRevision = rev.revision;
  }
  const finalising = s.phase === 'Finalising' || pass.prev.phase === 'Finalising';
  const released = pass.prev.phase === 'Succeeded' || finalising;
  if (finalising && !settled(t)) {
    s.phase = 'Finalising';
    pass.requeue(WAIT_REQUEUE_MS);
  } else {
    s.phase = released ? 'Succeeded' : 'Initialized';
  }
  s.canaryWeight = 0;
  const primary = pass.q(spec.primary.name);
  const canary = pass.q(spec.canary.name);
  if (!rev.inSync) {
    pass.say(
      `${primary} was changed after revision ${rev.revision} was promoted; Steerer leaves it as it is until ${canary} changes`,
      true,
    );
  } else if (s.phase === 'Initialized') {
    pass.say(`${primary} runs the canary's template; waiting for a new revision of ${canary}`);
  } else {
    pass.say(`${primary} runs revision ${rev.revision}; waiting for a new revision of ${canary}`);
  }
}

/** Routes are back at 100/0 and the canary is scaled to zero. */
function settled(t: Targets): boolean {
  return t.weights.canary === 0 && t.routesConsistent && t.canary.spec.replicas === 0;
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

/** When the last check ran, and whether the next one is due. */
function checkClock(pass: Pass): { due: boolean; dueInMs: number } {
  const last = pass.status.lastCheckTime;
  const lastCheck = last ? Date.parse(last) : Number.NEGATIVE_INFINITY;
  const dueInMs = lastCheck + pass.input.config.stepIntervalMs - pass.input.now;
  return { due: dueInMs <= 0, dueInMs };
}

function progress(pass: Pass, spec: RolloutSpec, t: Targets, wanted: PodTemplate): void {
  const { input } = pass;
  const s = pass.status;
  const weight = s.canaryWeight ?? 0;
  if (s.phase !== 'Halted') s.phase = 'Progressing';
  const health = healthGate(t, pass.ns, input.observed.canaryHpa);
  const clock = checkClock(pass);
  if (weight === 0) {
    firstStep(pass, spec, health, clock);
    return;
  }
  const outcome = checkAnalysis(
    spec,
    input.analysis,
    pass.ns,
    input.now,
    input.config.maxSampleAgeMs,
  );
  if (outcome.kind === 'pending' && health.ok) {
    // Never judge without a measurement: look again once the first one has arrived.
    pass.requeue(clock.due ? MEASUREMENT_REQUEUE_MS : clock.dueInMs);
    return;
  }
  const analysis = outcome.kind === 'judged' ? outcome : undefined;
  // A measured failure (or an unhealthy Deployment) halts at once, between steps;
  // passing checks only advance at the step interval.
  const measuredFailure = analysis?.status.result === 'Fail';
  const early = s.phase === 'Progressing' && (!health.ok || measuredFailure);
  if (!clock.due && !early) {
    pass.requeue(clock.dueInMs);
    return;
  }
  s.lastCheckTime = pass.nowIso;
  pass.requeue(input.config.stepIntervalMs);
  if (health.ok && analysis) s.analysis = { ...analysis.status, time: pass.nowIso };
  const gate = !health.ok || !analysis ? health : analysis.gate;
  if (!gate.ok) haltCheck(pass, gate);
  else if (weight < 100) step(pass, spec, weight);
  else startPromotion(pass, spec, t, wanted);
}

/**
 * Nothing is routed to the canary yet, so there is nothing to measure: advance as soon
 * as both Deployments are healthy, halting only if they stay unhealthy.
 */
function firstStep(
  pass: Pass,
  spec: RolloutSpec,
  health: Gate,
  clock: { due: boolean; dueInMs: number },
): void {
  if (health.ok) step(pass, spec, 0);
  else if (clock.due) haltCheck(pass, health);
  else {
    pass.say(`Waiting for ${pass.name} to start: ${health.message}`);
    pass.requeue(Math.min(WAIT_REQUEUE_MS, clock.dueInMs));
  }
}

/** 100% of traffic on the canary and its checks hold: copy its template to the primary. */
function startPromotion(pass: Pass, spec: RolloutSpec, t: Targets, wanted: PodTemplate): void {
  pass.status.phase = 'Promoting';
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
  pass.announce(`Advance rollout ${pass.name} weight ${to}`);
  pass.requeue(pass.input.config.stepIntervalMs);
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

function promote(pass: Pass, spec: RolloutSpec, t: Targets, rev: Revision): void {
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

function desiredWeights(s: RolloutStatus): Weights {
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
  const ops = t.router.patch(t.route, t.hosts, want);
  ops.push(...weightAnnotationOps(t.route, want));
  pass.actions.push({
    kind: 'setWeights',
    route: { kind: t.router.kind, name: t.route.metadata.name },
    ...want,
    ops,
  });
  // Steerer records the weights it writes on the route object. Weights that differ from
  // that record were changed by someone else: say so whenever Steerer puts them back.
  // (A pending change of Steerer's own, e.g. after a restart, is silent.)
  const written = recordedWeights(t.route);
  const changedByOthers =
    written !== undefined &&
    (!t.routesConsistent || written.primary !== found.primary || written.canary !== found.canary);
  if (changedByOthers) {
    pass.warning(
      `Restoring ${t.router.kind} ${qualified(t.route.metadata.name, t.route.metadata.namespace ?? '')} weights to ${want.primary}/${want.canary}: found ${found.primary}/${found.canary}, changed outside Steerer`,
    );
  }
}

/** The replicas a canary gets when a release needs it and it sits at zero. */
function scaleUpTo(pass: Pass, t: Targets): number {
  const hpa = pass.input.observed.canaryHpa;
  if (hpa) return hpa.spec.minReplicas ?? 1;
  return parseScaledDownFrom(t.canary.metadata.annotations?.[ANNOTATIONS.scaledDownFrom]) ?? 1;
}

function ensureCanaryScale(pass: Pass, t: Targets): void {
  const name = t.canary.metadata.name;
  const replicas = t.canary.spec.replicas ?? 1;
  const phase = pass.status.phase;
  const active = inPhases(phase, RELEASE_PHASES);
  const hpaMin = pass.input.observed.canaryHpa?.spec.minReplicas;
  if (active && replicas === 0) {
    pass.actions.push({ kind: 'scaleCanary', name, replicas: scaleUpTo(pass, t) });
  } else if (active && hpaMin !== undefined && hpaMin > replicas) {
    // Fewer replicas than the canary's HPA keeps (a manifest re-applied with its own
    // `replicas`): give it the minimum now rather than halting until the HPA's next sync.
    pass.actions.push({ kind: 'scaleCanary', name, replicas: hpaMin });
  } else if (!active && phase !== 'Waiting' && replicas !== 0) {
    pass.actions.push({ kind: 'scaleCanary', name, replicas: 0, remember: replicas });
  }
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

/** What to measure after this pass: a release whose canary receives traffic. */
function measurement(pass: Pass, spec: RolloutSpec | undefined): Subscription | undefined {
  const s = pass.status;
  const measured = s.phase === 'Progressing' || s.phase === 'Halted';
  if (!spec || !measured || (s.canaryWeight ?? 0) === 0 || !inFlight(s)) return undefined;
  const start = s.startTime ? Date.parse(s.startTime) : Number.NaN;
  return {
    namespace: pass.ns,
    workload: spec.canary.name,
    checks: spec.checks,
    sinceMs: Number.isFinite(start) ? start : undefined,
  };
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
    measure: measurement(pass, spec),
  };
}
