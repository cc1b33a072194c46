// Codecs of the annotations Steerer writes on other objects. One reader each, so every
// process accepts exactly the same values.

import { ANNOTATIONS } from './names.js';
import { escapePointer } from './json.js';
import type { JsonPatchOp } from './json.js';
import type { KubeObject } from './objects.js';
import type { Weights } from './routing/router.js';

/** The replicas Steerer scaled a canary down from: a positive whole number, else undefined. */
export function parseScaledDownFrom(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}

export function formatScaledDownFrom(replicas: number): string {
  return String(replicas);
}

/** "70/30" → weights; undefined when absent or malformed. */
export function parseWeights(value: string | undefined): Weights | undefined {
  const m = value === undefined ? null : /^(\d{1,3})\/(\d{1,3})$/.exec(value);
  if (!m) return undefined;
  return { primary: Number(m[1]), canary: Number(m[2]) };
}

export function formatWeights(w: Weights): string {
  return `${w.primary}/${w.canary}`;
}

/** The weights Steerer last wrote on a route object, if it recorded any. */
export function recordedWeights(route: KubeObject): Weights | undefined {
  return parseWeights(route.metadata.annotations?.[ANNOTATIONS.weights]);
}

/**
 * Operations recording the weights Steerer writes in an annotation of the route object,
 * so a later pass (even after a restart) can tell its own pending change from one made
 * by someone else.
 */
export function weightAnnotationOps(route: KubeObject, want: Weights): JsonPatchOp[] {
  const key = ANNOTATIONS.weights;
  const value = formatWeights(want);
  const annotations = route.metadata.annotations;
  if (annotations?.[key] === value) return [];
  if (!annotations) return [{ op: 'add', path: '/metadata/annotations', value: { [key]: value } }];
  return [{ op: 'add', path: `/metadata/annotations/${escapePointer(key)}`, value }];
}
