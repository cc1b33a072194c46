// The AdmissionReview the webhook benchmark sends: what the API server sends when a user
// `kubectl apply`s the seed's canary Deployment with a new image. Old and new objects are
// the seed's canary manifest as stored (labels Steerer added, kubectl's
// last-applied-configuration, managedFields, status), the new one with podinfo 1.3.0.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ANNOTATIONS, LABELS } from '@steerer/common';
import type { RolloutObject } from '@steerer/common';
import { SEED } from '@steerer/test/e2e/harness';

type Json = Record<string, unknown>;

/** The first document of a seed manifest (canary.yaml also holds the Service). */
function seed(file: string): Json {
  const [doc] = parseAllDocuments(readFileSync(join(SEED, file), 'utf8'));
  if (!doc || 'empty' in doc) throw new Error(`${file} has no document`);
  return doc.toJS() as Json;
}

/** The seed's Rollout as the cache holds it after a finished release. */
export function seedRollout(): RolloutObject {
  const r = seed('rollout.yaml') as unknown as RolloutObject;
  r.metadata.uid = '4b0b7c61-4c53-4bde-9d2c-7f1d1f0b2a10';
  r.metadata.resourceVersion = '48213';
  r.status = { phase: 'Succeeded', canaryWeight: 0, failedChecks: 0 };
  return r;
}

function stored(manifest: Json, image: string, resourceVersion: string): Json {
  const d = structuredClone(manifest) as {
    metadata: Json & { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  const container = d.spec.template.spec.containers[0];
  if (container) container.image = image;
  const applied = JSON.stringify(d);
  d.metadata = {
    ...d.metadata,
    uid: '9a3c1f4e-0d7b-4c2e-b8a1-2f5e6d7c8b90',
    resourceVersion,
    generation: 3,
    creationTimestamp: '2026-11-27T09:00:00Z',
    labels: { ...d.metadata.labels, [LABELS.rollout]: 'podinfo', [LABELS.role]: 'canary' },
    annotations: {
      'deployment.kubernetes.io/revision': '2',
      'kubectl.kubernetes.io/last-applied-configuration': applied,
      [ANNOTATIONS.revision]: '5d8f7c9b6a',
      [ANNOTATIONS.revisionTime]: '2026-11-27T09:30:00Z',
    },
    managedFields: [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: '2026-11-27T09:30:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:annotations': { '.': {} }, 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': { 'f:replicas': {}, 'f:selector': {}, 'f:strategy': {}, 'f:template': {} },
        },
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: '2026-11-27T09:31:00Z',
        fieldsType: 'FieldsV1',
        subresource: 'status',
        fieldsV1: { 'f:status': { 'f:availableReplicas': {}, 'f:conditions': {} } },
      },
    ],
  };
  return {
    ...d,
    status: {
      observedGeneration: 3,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    },
  };
}

/** The AdmissionReview JSON of a canary image bump 1.2.0 → 1.3.0 in namespace test. */
export function canaryUpdateReview(): string {
  const canary = seed('canary.yaml');
  const oldObject = stored(canary, 'quay.io/stefanprodan/podinfo:1.2.0', '48100');
  const object = stored(canary, 'quay.io/stefanprodan/podinfo:1.3.0', '48100');
  (object.metadata as Json).generation = 4;
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'f2c8a3b4-1111-4e0c-9d55-7a6b5c4d3e2f',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: 'podinfo-canary',
      namespace: 'test',
      operation: 'UPDATE',
      userInfo: {
        username: 'kubernetes-admin',
        groups: ['system:masters', 'system:authenticated'],
      },
      object,
      oldObject,
      dryRun: false,
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: 'UpdateOptions',
        fieldManager: 'kubectl-client-side-apply',
      },
    },
  });
}
