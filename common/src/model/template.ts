// Pod templates: what counts as a new canary revision, and how the canary's template
// becomes the primary's at promotion.
//
// A release is due when the canary's template, promoted, differs from the primary's.
// Both templates are defaulted by the same API server, so upgrading Kubernetes (new
// defaulted fields) or Steerer (a different hash) never looks like a release. The hash
// below only names revisions in status, events and the webhook's annotation.

import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { canonicalJson, jsonEqual } from './json.js';
import { isSteererKey } from './names.js';
import type { JsonObject, LabelSelector, PodTemplate } from './objects.js';

function withoutSteererKeys(map: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) if (!isSteererKey(k)) out[k] = v;
  return out;
}

/** The parts of a template that define a revision: labels, annotations and spec. */
function revisionContent(template: PodTemplate): JsonObject {
  return {
    labels: withoutSteererKeys(template.metadata?.labels),
    annotations: withoutSteererKeys(template.metadata?.annotations),
    spec: template.spec ?? {},
  };
}

/** A short, stable name for a pod template revision (10 hex digits of SHA-256). */
export function templateRevision(template: PodTemplate): string {
  // A pure SHA-256 (not node:crypto), so the model also runs in a browser.
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(revisionContent(template))))).slice(0, 10);
}

/** True when two templates are the same revision (Steerer's own keys aside). */
export function sameTemplate(a: PodTemplate, b: PodTemplate): boolean {
  return jsonEqual(revisionContent(a), revisionContent(b));
}

function selectorKeys(selector: LabelSelector | undefined): Set<string> {
  const keys = new Set(Object.keys(selector?.matchLabels ?? {}));
  for (const e of selector?.matchExpressions ?? []) keys.add(e.key);
  return keys;
}

/**
 * The primary's template after promotion: the canary's template, with labels fixed so
 * the primary's selector still matches its pods and the canary's selector does not.
 *
 * - labels the canary's selector uses are dropped (they would make primary pods look
 *   like canary pods to the canary's Service);
 * - labels the primary's selector uses keep the primary's current values, so its
 *   ReplicaSets never orphan their pods;
 * - every other label and annotation, and the whole spec, come from the canary.
 */
export function promotedTemplate(
  canary: PodTemplate,
  primary: PodTemplate,
  primarySelector: LabelSelector,
  canarySelector: LabelSelector,
): PodTemplate {
  const keep = selectorKeys(primarySelector);
  const drop = selectorKeys(canarySelector);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(canary.metadata?.labels ?? {})) {
    if (!drop.has(k) && !keep.has(k)) labels[k] = v;
  }
  const primaryLabels = primary.metadata?.labels ?? {};
  for (const k of keep) {
    // The selector's own value is authoritative; expression keys keep the primary's value.
    const v = primarySelector.matchLabels?.[k] ?? primaryLabels[k];
    if (v !== undefined) labels[k] = v;
  }
  // structuredClone: the result shares nothing with the inputs.
  const metadata = { ...structuredClone(canary.metadata ?? {}), labels };
  return { metadata, spec: structuredClone(canary.spec ?? {}) };
}
