// A tolerant view of the Deployments the mutating handler reads. Admission requests carry
// whatever the API server stored, so nothing here assumes a shape: missing or mistyped
// fields read as absent.

import { isJsonMap } from '@steerer/common';
import type { PodTemplate } from '@steerer/common';
import type { JsonMap } from './admission.js';

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isJsonMap(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

export interface DeploymentView {
  name: string;
  namespace: string | undefined;
  labels: Record<string, string>;
  /** undefined when metadata.annotations is absent (a patch must add the whole map). */
  annotations: Record<string, string> | undefined;
  /** spec.replicas, defaulting to 1 as the API server does. */
  replicas: number;
  hasReplicas: boolean;
  template: PodTemplate;
}

/** A Deployment's metadata, replicas and pod template; undefined when it has none of those. */
export function deploymentView(obj: JsonMap): DeploymentView | undefined {
  const metadata = obj.metadata;
  const spec = obj.spec;
  if (!isJsonMap(metadata) || !isJsonMap(spec) || !isJsonMap(spec.template)) return undefined;
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const replicas = spec.replicas;
  const hasReplicas = typeof replicas === 'number' && Number.isInteger(replicas) && replicas >= 0;
  return {
    name,
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    labels: stringMap(metadata.labels) ?? {},
    annotations: isJsonMap(metadata.annotations)
      ? (stringMap(metadata.annotations) ?? {})
      : undefined,
    replicas: hasReplicas ? replicas : 1,
    hasReplicas,
    template: spec.template,
  };
}
