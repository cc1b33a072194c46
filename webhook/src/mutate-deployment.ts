// Mutating admission of canary Deployments. Seeing the old and new object side by side, the
// webhook stamps a new pod-template revision on the canary (the controller's Deployment
// informer reacts to that write at once), starts a scaled-down canary in the same write, and
// keeps a scaled-down canary at zero when a GitOps tool re-applies an unchanged manifest.
// It never denies: a Deployment write must not depend on Steerer being healthy.

import {
  ANNOTATIONS,
  FIELD_MANAGER,
  IDLE_PHASES,
  LABELS,
  applyJsonPatch,
  errorMessage,
  escapePointer,
  inPhases,
  kubeTime,
  parseScaledDownFrom,
  phaseOf,
  rolloutRefs,
  sameTemplate,
  templateRevision,
} from '@steerer/common';
import type { JsonPatchOp, RolloutObject } from '@steerer/common';
import { allow, allowWithPatch } from './admission.js';
import type { AdmissionRequest, Reviewed } from './admission.js';
import { deploymentView } from './objects.js';
import type { DeploymentView } from './objects.js';
import type { Lookup } from './lookup.js';

export interface DeploymentFacts {
  /** The Rollout the Deployment's steerer.io/rollout label names, if it exists. */
  rollout: RolloutObject | undefined;
}

export interface CanaryUpdate {
  namespace: string;
  rolloutName: string;
  old: DeploymentView;
  next: DeploymentView;
}

/**
 * The canary update this request is, if it is one: an UPDATE of a whole Deployment carrying
 * Steerer's canary labels (on the new or the old object; the API server's objectSelector
 * matches either, and a `kubectl replace` may drop labels).
 */
export function canaryUpdate(req: AdmissionRequest): CanaryUpdate | { skip: string } {
  if (req.operation !== 'UPDATE') return { skip: `${req.operation} is not checked` };
  if (req.subResource) return { skip: `subresource ${req.subResource} is not checked` };
  const next = req.object ? deploymentView(req.object) : undefined;
  const old = req.oldObject ? deploymentView(req.oldObject) : undefined;
  if (!next || !old) return { skip: 'not a Deployment with a pod template' };
  const isCanary = (d: DeploymentView): boolean => d.labels[LABELS.role] === 'canary';
  if (!isCanary(next) && !isCanary(old)) return { skip: `no ${LABELS.role}=canary label` };
  const rolloutName = next.labels[LABELS.rollout] ?? old.labels[LABELS.rollout];
  if (!rolloutName) return { skip: `no ${LABELS.rollout} label` };
  const namespace = req.namespace ?? next.namespace ?? old.namespace;
  if (!namespace) return { skip: 'no namespace' };
  return { namespace, rolloutName, old, next };
}

/** The lookups mutateDeployment needs: the Rollout named by the label (from the cache). */
export async function deploymentFacts(
  req: AdmissionRequest,
  lookup: Lookup,
  u: CanaryUpdate | { skip: string } = canaryUpdate(req),
): Promise<DeploymentFacts> {
  if ('skip' in u) return { rollout: undefined };
  return { rollout: await lookup.rollout(u.namespace, u.rolloutName) };
}

function annotationOps(d: DeploymentView, values: Record<string, string>): JsonPatchOp[] {
  if (d.annotations === undefined)
    return [{ op: 'add', path: '/metadata/annotations', value: values }];
  return Object.entries(values).map(([key, value]) => ({
    op: key in (d.annotations ?? {}) ? 'replace' : 'add',
    path: `/metadata/annotations/${escapePointer(key)}`,
    value,
  }));
}

function replicasOp(d: DeploymentView, replicas: number): JsonPatchOp {
  return { op: d.hasReplicas ? 'replace' : 'add', path: '/spec/replicas', value: replicas };
}

/** The replicas Steerer scaled the canary down from, or 1. */
function scaledDownFrom(u: CanaryUpdate): number {
  return (
    parseScaledDownFrom(u.next.annotations?.[ANNOTATIONS.scaledDownFrom]) ??
    parseScaledDownFrom(u.old.annotations?.[ANNOTATIONS.scaledDownFrom]) ??
    1
  );
}

/** A new template: stamp the revision, and start a canary Steerer had scaled to zero. */
function newRevision(u: CanaryUpdate, managed: boolean, now: Date, ops: JsonPatchOp[]): string {
  const revision = templateRevision(u.next.template);
  ops.push(
    ...annotationOps(u.next, {
      [ANNOTATIONS.revision]: revision,
      [ANNOTATIONS.revisionTime]: kubeTime(now),
    }),
  );
  if (!managed || u.old.replicas !== 0 || u.next.replicas !== 0) return `new revision ${revision}`;
  const replicas = scaledDownFrom(u);
  ops.push(replicasOp(u.next, replicas));
  return `new revision ${revision}; scaled up from 0 to ${replicas} replicas`;
}

/** The same template re-applied: an idle canary stays at zero replicas. */
function sameRevision(
  req: AdmissionRequest,
  u: CanaryUpdate,
  rollout: RolloutObject | undefined,
  managed: boolean,
  out: { ops: JsonPatchOp[]; warnings: string[] },
): string {
  const phase = phaseOf(rollout?.status);
  const idle = managed && inPhases(phase, IDLE_PHASES);
  const byController = req.options?.fieldManager === FIELD_MANAGER;
  if (!idle || byController || u.old.replicas !== 0 || u.next.replicas <= 0) {
    return 'template unchanged';
  }
  out.ops.push(replicasOp(u.next, 0));
  out.warnings.push(
    `${u.namespace}/${u.next.name} stays at 0 replicas: its pod template is unchanged and Rollout ${u.namespace}/${u.rolloutName} is idle (${phase ?? ''}); Steerer scales it up when a new revision is applied`,
  );
  return `kept at 0 replicas (template unchanged, rollout ${phase ?? ''})`;
}

export function mutateDeployment(
  req: AdmissionRequest,
  facts: DeploymentFacts,
  now: Date,
  u: CanaryUpdate | { skip: string } = canaryUpdate(req),
): Reviewed {
  if ('skip' in u) return { response: allow(req.uid), note: u.skip };
  const rollout = facts.rollout;
  // The Rollout must still name this Deployment as its canary for Steerer to touch replicas.
  const managed = rollout !== undefined && rolloutRefs(rollout).canaryName === u.next.name;
  const out: { ops: JsonPatchOp[]; warnings: string[] } = { ops: [], warnings: [] };
  const note = sameTemplate(u.old.template, u.next.template)
    ? sameRevision(req, u, rollout, managed, out)
    : newRevision(u, managed, now, out.ops);
  if (out.ops.length === 0) return { response: allow(req.uid, out.warnings), note };
  // A patch the API server cannot apply fails the write; never send one.
  try {
    applyJsonPatch(req.object, out.ops);
  } catch (e) {
    return {
      response: allow(req.uid),
      note: `patch not applicable, allowed unchanged: ${errorMessage(e)}`,
    };
  }
  return { response: allowWithPatch(req.uid, out.ops, out.warnings), note };
}
