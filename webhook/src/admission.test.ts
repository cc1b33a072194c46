import { describe, expect, it } from '@jest/globals';
import {
  WARNING_MAX_LENGTH,
  allow,
  allowWithPatch,
  deny,
  parseAdmissionReview,
  resultOf,
  reviewOf,
} from './admission.js';
import { KINDS, admissionReview, canaryDeployment } from './testing.js';

const valid = (): Record<string, unknown> =>
  admissionReview({
    kind: KINDS.deployment,
    operation: 'UPDATE',
    object: canaryDeployment(),
    oldObject: canaryDeployment(),
    uid: 'u-1',
  });

function withRequest(patch: Record<string, unknown>): Record<string, unknown> {
  const body = valid();
  return { ...body, request: { ...(body.request as Record<string, unknown>), ...patch } };
}

describe('parseAdmissionReview', () => {
  it('accepts an admission.k8s.io/v1 review into a typed request', () => {
    const r = parseAdmissionReview(valid());
    expect(r).toMatchObject({
      ok: true,
      request: {
        uid: 'u-1',
        kind: KINDS.deployment,
        operation: 'UPDATE',
        namespace: 'test',
        name: 'podinfo-canary',
        username: 'kubernetes-admin',
        dryRun: false,
      },
    });
  });

  it.each([
    ['not an object', [], /body must be a JSON object, got an array/],
    ['another kind', { ...valid(), kind: 'Pod' }, /kind must be AdmissionReview, got "Pod"/],
    [
      'v1beta1',
      { ...valid(), apiVersion: 'admission.k8s.io/v1beta1' },
      /apiVersion must be admission.k8s.io\/v1/,
    ],
    [
      'no request',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      /request must be an object/,
    ],
    ['no uid', withRequest({ uid: undefined }), /request.uid must be a non-empty string/],
    ['numeric uid', withRequest({ uid: 7 }), /request.uid/],
    ['no kind', withRequest({ kind: 'Deployment' }), /request.kind must be an object/],
    [
      'bad kind',
      withRequest({ kind: { group: 'apps' } }),
      /request.kind must have string group, version and kind/,
    ],
    [
      'bad operation',
      withRequest({ operation: 'PATCH' }),
      /request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"/,
    ],
    [
      'object not an object',
      withRequest({ object: 'x' }),
      /request.object must be an object, got string/,
    ],
    [
      'UPDATE without oldObject',
      withRequest({ oldObject: null }),
      /request.object and request.oldObject are required for UPDATE/,
    ],
    [
      'CREATE without object',
      withRequest({ operation: 'CREATE', object: undefined }),
      /request.object is required for CREATE/,
    ],
    ['bad dryRun', withRequest({ dryRun: 'yes' }), /request.dryRun must be a boolean/],
    ['bad namespace', withRequest({ namespace: 3 }), /request.namespace must be a string/],
  ])('rejects %s with a reason', (_what, body, reason) => {
    const r = parseAdmissionReview(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('reports every problem at once', () => {
    const r = parseAdmissionReview(withRequest({ uid: '', operation: 'X', object: 1 }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.split('; ')).toHaveLength(3);
  });

  it('accepts DELETE with a null object', () => {
    const r = parseAdmissionReview(withRequest({ operation: 'DELETE', object: null }));
    expect(r.ok && r.request.object).toBeUndefined();
  });
});

describe('responses', () => {
  it('allow echoes the uid and omits empty warnings', () => {
    expect(allow('u')).toEqual({ uid: 'u', allowed: true });
  });

  it('deny carries a Status with code, reason and causes', () => {
    expect(
      deny('u', 'no', {
        code: 409,
        reason: 'Conflict',
        causes: [{ field: 'spec', message: 'm', reason: 'FieldValueInvalid' }],
      }),
    ).toEqual({
      uid: 'u',
      allowed: false,
      status: {
        code: 409,
        reason: 'Conflict',
        message: 'no',
        details: { causes: [{ field: 'spec', message: 'm', reason: 'FieldValueInvalid' }] },
      },
    });
    expect(deny('u', 'no').status).toEqual({ code: 422, reason: 'Invalid', message: 'no' });
  });

  it('allowWithPatch encodes the JSON Patch as base64', () => {
    const res = allowWithPatch('u', [{ op: 'replace', path: '/spec/replicas', value: 0 }], ['w']);
    expect(res).toMatchObject({ uid: 'u', allowed: true, patchType: 'JSONPatch', warnings: ['w'] });
    expect(JSON.parse(Buffer.from(res.patch ?? '', 'base64').toString())).toEqual([
      { op: 'replace', path: '/spec/replicas', value: 0 },
    ]);
    expect(allowWithPatch('u', [])).toEqual({ uid: 'u', allowed: true });
  });

  it('cleans and caps warnings', () => {
    const [w] = allow('u', [`a\nb${'x'.repeat(500)}`]).warnings ?? [];
    expect(w).toHaveLength(WARNING_MAX_LENGTH);
    expect(w?.startsWith('a b')).toBe(true);
  });

  it('wraps a response in an AdmissionReview', () => {
    expect(reviewOf(allow('u'))).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u', allowed: true },
    });
  });

  it('classifies results', () => {
    expect(resultOf(allow('u'))).toBe('allowed');
    expect(resultOf(deny('u', 'x'))).toBe('denied');
    expect(resultOf(allowWithPatch('u', [{ op: 'add', path: '/a', value: 1 }]))).toBe('patched');
  });
});
