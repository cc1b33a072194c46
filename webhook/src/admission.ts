// The AdmissionReview wire format (admission.k8s.io/v1): validation of an untrusted request
// body into a typed request, and pure builders for the responses every handler returns.

import { isJsonMap } from '@steerer/common/model';
import type { JsonPatchOp } from '@steerer/common/model';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_KIND = 'AdmissionReview';

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type Operation = (typeof OPERATIONS)[number];

export type JsonMap = Record<string, unknown>;

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The parts of an AdmissionRequest Steerer reads, checked for type. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  username?: string;
  /** The new object (CREATE, UPDATE); absent for DELETE. */
  object?: JsonMap;
  /** The existing object (UPDATE, DELETE). */
  oldObject?: JsonMap;
  dryRun: boolean;
  /** CreateOptions / UpdateOptions / PatchOptions of the request (fieldManager, …). */
  options?: JsonMap;
}

export type ParseResult = { ok: true; request: AdmissionRequest } | { ok: false; reason: string };

export interface StatusCause {
  field: string;
  message: string;
  reason: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: {
    code: number;
    reason: string;
    message: string;
    details?: { causes: StatusCause[] };
  };
  patchType?: 'JSONPatch';
  /** Base64 of the JSON Patch document. */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_KIND;
  response: AdmissionResponse;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

function optionalString(
  o: JsonMap,
  key: string,
  path: string,
  problems: string[],
): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    problems.push(`${path} must be a string, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

function optionalObject(
  o: JsonMap,
  key: string,
  path: string,
  problems: string[],
): JsonMap | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isJsonMap(v)) {
    problems.push(`${path} must be an object, got ${describe(v)}`);
    return undefined;
  }
  return v;
}

/** Checks an untrusted body is an admission.k8s.io/v1 AdmissionReview with a usable request. */
/** The envelope: an admission.k8s.io/v1 AdmissionReview; its request, or why not. */
function envelope(body: unknown): { request: JsonMap } | { reason: string } {
  if (!isJsonMap(body)) return { reason: `the body must be a JSON object, got ${describe(body)}` };
  if (body.kind !== ADMISSION_KIND) {
    return {
      reason: `kind must be ${ADMISSION_KIND}, got ${JSON.stringify(body.kind) ?? 'nothing'}`,
    };
  }
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    return {
      reason: `apiVersion must be ${ADMISSION_API_VERSION} (configure admissionReviewVersions: ["v1"]), got ${JSON.stringify(body.apiVersion) ?? 'nothing'}`,
    };
  }
  const r = body.request;
  if (!isJsonMap(r)) return { reason: `request must be an object, got ${describe(r)}` };
  return { request: r };
}

function groupVersionKind(v: unknown, problems: string[]): GroupVersionKind | undefined {
  if (!isJsonMap(v)) {
    problems.push(`request.kind must be an object, got ${describe(v)}`);
    return undefined;
  }
  const { group, version, kind } = v;
  if (
    typeof group === 'string' &&
    typeof version === 'string' &&
    typeof kind === 'string' &&
    version &&
    kind
  ) {
    return { group, version, kind };
  }
  problems.push('request.kind must have string group, version and kind');
  return undefined;
}

function operationOf(v: unknown, problems: string[]): Operation | undefined {
  const op = OPERATIONS.find((o) => o === v);
  if (op === undefined) {
    problems.push(
      `request.operation must be one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(v) ?? 'nothing'}`,
    );
  }
  return op;
}

/** Checks an untrusted body is an admission.k8s.io/v1 AdmissionReview with a usable request. */
export function parseAdmissionReview(body: unknown): ParseResult {
  const env = envelope(body);
  if ('reason' in env) return { ok: false, reason: env.reason };
  const r = env.request;
  const problems: string[] = [];
  const uid = typeof r.uid === 'string' && r.uid !== '' ? r.uid : undefined;
  if (uid === undefined) problems.push('request.uid must be a non-empty string');
  const kind = groupVersionKind(r.kind, problems);
  const operation = operationOf(r.operation, problems);
  const optional = optionalFields(r, problems);
  if (operation === 'CREATE' && !optional.object)
    problems.push('request.object is required for CREATE');
  if (operation === 'UPDATE' && (!optional.object || !optional.oldObject))
    problems.push('request.object and request.oldObject are required for UPDATE');
  if (problems.length > 0 || !kind || !uid || !operation)
    return { ok: false, reason: problems.join('; ') };
  return { ok: true, request: { uid, kind, operation, dryRun: r.dryRun === true, ...optional } };
}

type OptionalFields = Omit<AdmissionRequest, 'uid' | 'kind' | 'operation' | 'dryRun'>;

/** The request's optional members, each present only when set (and well-typed). */
function optionalFields(r: JsonMap, problems: string[]): OptionalFields {
  const userInfo = optionalObject(r, 'userInfo', 'request.userInfo', problems);
  const subResource = optionalString(r, 'subResource', 'request.subResource', problems);
  const name = optionalString(r, 'name', 'request.name', problems);
  const namespace = optionalString(r, 'namespace', 'request.namespace', problems);
  const username = userInfo
    ? optionalString(userInfo, 'username', 'request.userInfo.username', problems)
    : undefined;
  const object = optionalObject(r, 'object', 'request.object', problems);
  const oldObject = optionalObject(r, 'oldObject', 'request.oldObject', problems);
  const options = optionalObject(r, 'options', 'request.options', problems);
  if (r.dryRun !== undefined && r.dryRun !== null && typeof r.dryRun !== 'boolean') {
    problems.push(`request.dryRun must be a boolean, got ${describe(r.dryRun)}`);
  }
  return {
    ...(subResource ? { subResource } : {}),
    ...(name ? { name } : {}),
    ...(namespace ? { namespace } : {}),
    ...(username ? { username } : {}),
    ...(object ? { object } : {}),
    ...(oldObject ? { oldObject } : {}),
    ...(options ? { options } : {}),
  };
}

/** The API server may truncate longer warnings; control characters are not allowed. */
export const WARNING_MAX_LENGTH = 256;

function cleanWarnings(warnings: readonly string[]): string[] {
  return warnings.map((w) => {
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    const clean = w.replace(/[\u0000-\u001f\u007f]/g, ' ');
    return clean.length > WARNING_MAX_LENGTH ? `${clean.slice(0, WARNING_MAX_LENGTH - 1)}…` : clean;
  });
}

export function allow(uid: string, warnings: readonly string[] = []): AdmissionResponse {
  return {
    uid,
    allowed: true,
    ...(warnings.length > 0 ? { warnings: cleanWarnings(warnings) } : {}),
  };
}

export interface DenyOptions {
  /** HTTP status the API server reports; 422 (Invalid) by default. */
  code?: number;
  /** metav1.Status reason: Invalid, Conflict, Forbidden… */
  reason?: string;
  causes?: readonly StatusCause[];
  warnings?: readonly string[];
}

export function deny(uid: string, message: string, options: DenyOptions = {}): AdmissionResponse {
  const warnings = options.warnings ?? [];
  return {
    uid,
    allowed: false,
    status: {
      code: options.code ?? 422,
      reason: options.reason ?? 'Invalid',
      message,
      ...(options.causes && options.causes.length > 0
        ? { details: { causes: [...options.causes] } }
        : {}),
    },
    ...(warnings.length > 0 ? { warnings: cleanWarnings(warnings) } : {}),
  };
}

/** Allows with a JSON Patch (base64, patchType JSONPatch); without operations, a plain allow. */
export function allowWithPatch(
  uid: string,
  ops: readonly JsonPatchOp[],
  warnings: readonly string[] = [],
): AdmissionResponse {
  if (ops.length === 0) return allow(uid, warnings);
  return {
    ...allow(uid, warnings),
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops), 'utf8').toString('base64'),
  };
}

export function reviewOf(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

export type AdmissionResult = 'allowed' | 'patched' | 'denied';

export function resultOf(response: AdmissionResponse): AdmissionResult {
  if (!response.allowed) return 'denied';
  return response.patch ? 'patched' : 'allowed';
}

/** A handler's answer, with a short note on why (for logs). */
export interface Reviewed {
  response: AdmissionResponse;
  note: string;
}
