// Mutating admission of canary Deployments. Seeing the old and new object side by side, the
// webhook stamps a new pod-template revision on the canary (the controller's Deployment
// informer reacts to that write at once), starts a scaled-down canary in the same write, and
// keeps a scaled-down canary at zero when a GitOps tool re-applies an unchanged manifest.
// It never denies: a Deployment write must not depend on Steerer being healthy.

import jsonpatch from 'jsonpatch';
import {
  ANNOTATIONS,
  FIELD_MANAGER,
  LABELS,
  errorMessage,
  sameTemplate,
  templateRevision,
} from '@steerer/common';
import type { RolloutObject } from '@steerer/common';
import { allow, allowWithPatch, escapePointer } from './admission.js';
import type { AdmissionRequest, PatchOperation, Reviewed } from './admission.js';
import { IDLE_PHASES, deploymentView, phaseOf, rolloutRefs } from './objects.js';
import type { DeploymentView } from './objects.js';
import type { Lookup } from './lookup.js';

/** The field manager of the controller's own writes (KubeClient.patch). */
export const STEERER_FIELD_MANAGER = FIELD_MANAGER;

export interface DeploymentFacts {
  /** The Rollout the Deployment's steerer.io/rollout label names, if it exists. */
  rollout: RolloutObject | undefined;
}

interface CanaryUpdate {
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
function canaryUpdate(req: AdmissionRequest): CanaryUpdate | { skip: string } {
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
): Promise<DeploymentFacts> {
  const u = canaryUpdate(req);
  if ('skip' in u) return { rollout: undefined };
  return { rollout: await lookup.rollout(u.namespace, u.rolloutName) };
}

/** RFC 3339 in whole seconds, as Kubernetes writes times. */
export function rfc3339(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

function annotationOps(d: DeploymentView, values: Record<string, string>): PatchOperation[] {
  if (d.annotations === undefined)
    return [{ op: 'add', path: '/metadata/annotations', value: values }];
  return Object.entries(values).map(([key, value]) => ({
    op: key in (d.annotations ?? {}) ? 'replace' : 'add',
    path: `/metadata/annotations/${escapePointer(key)}`,
    value,
  }));
}

function replicasOp(d: DeploymentView, replicas: number): PatchOperation {
  return { op: d.hasReplicas ? 'replace' : 'add', path: '/spec/replicas', value: replicas };
}

/** The replicas Steerer scaled the canary down from, or 1. */
function scaledDownFrom(u: CanaryUpdate): number {
  const raw =
    u.next.annotations?.[ANNOTATIONS.scaledDownFrom] ??
    u.old.annotations?.[ANNOTATIONS.scaledDownFrom];
  const n = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : 1;
}

export function mutateDeployment(
  req: AdmissionRequest,
  facts: DeploymentFacts,
  now: Date,
): Reviewed {
  const u = canaryUpdate(req);
  if ('skip' in u) return { response: allow(req.uid), note: u.skip };
  const qualified = `${u.namespace}/${u.next.name}`;
  const rollout = facts.rollout;
  // The Rollout must still name this Deployment as its canary for Steerer to touch replicas.
  const managed = rollout !== undefined && rolloutRefs(rollout).canaryName === u.next.name;
  const ops: PatchOperation[] = [];
  const warnings: string[] = [];
  let note: string;

  if (!sameTemplate(u.old.template, u.next.template)) {
    const revision = templateRevision(u.next.template);
    ops.push(
      ...annotationOps(u.next, {
        [ANNOTATIONS.revision]: revision,
        [ANNOTATIONS.revisionTime]: rfc3339(now),
      }),
    );
    note = `new revision ${revision}`;
    if (managed && u.old.replicas === 0 && u.next.replicas === 0) {
      const replicas = scaledDownFrom(u);
      ops.push(replicasOp(u.next, replicas));
      note += `; scaled up from 0 to ${replicas} replicas`;
    }
  } else {
    const phase = rollout ? phaseOf(rollout) : undefined;
    const idle = managed && phase !== undefined && IDLE_PHASES.includes(phase);
    const byController = req.options?.fieldManager === STEERER_FIELD_MANAGER;
    if (idle && !byController && u.old.replicas === 0 && u.next.replicas > 0) {
      ops.push(replicasOp(u.next, 0));
      warnings.push(
        `${qualified} stays at 0 replicas: its pod template is unchanged and Rollout ${u.namespace}/${u.rolloutName} is idle (${phase}); Steerer scales it up when a new revision is applied`,
      );
      note = `kept at 0 replicas (template unchanged, rollout ${phase})`;
    } else {
      note = 'template unchanged';
    }
  }
  if (ops.length === 0) return { response: allow(req.uid, warnings), note };
  // A patch the API server cannot apply fails the write; never send one.
  try {
    jsonpatch.apply_patch(req.object, ops);
  } catch (e) {
    return {
      response: allow(req.uid),
      note: `patch not applicable, allowed unchanged: ${errorMessage(e)}`,
    };
  }
  return { response: allowWithPatch(req.uid, ops, warnings), note };
}
