// A typed error for Kubernetes API failures seen by the certs package. Adapters map client
// errors into it so the rest of the package (and its tests) never look at client-node shapes.
// Expected outcomes (a missing webhook configuration, a lost create race) are result objects,
// not errors; this class is for what the caller must retry or report.

import { redactKeyMaterial } from './logger.js';

export const ApiErrorCode = {
  BadRequest: 'BadRequest',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  Conflict: 'Conflict',
  Invalid: 'Invalid',
  TooManyRequests: 'TooManyRequests',
  Unavailable: 'Unavailable',
  Unknown: 'Unknown',
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

const CODE_FOR_STATUS: Readonly<Record<number, ApiErrorCode>> = {
  400: ApiErrorCode.BadRequest,
  401: ApiErrorCode.Unauthorized,
  403: ApiErrorCode.Forbidden,
  404: ApiErrorCode.NotFound,
  409: ApiErrorCode.Conflict,
  422: ApiErrorCode.Invalid,
  429: ApiErrorCode.TooManyRequests,
  500: ApiErrorCode.Unavailable,
  502: ApiErrorCode.Unavailable,
  503: ApiErrorCode.Unavailable,
  504: ApiErrorCode.Unavailable,
};

/** HTTP status → code. 409 covers both AlreadyExists (create) and Conflict (stale resourceVersion). */
export function apiErrorCodeForStatus(status: number | undefined): ApiErrorCode {
  return (status === undefined ? undefined : CODE_FOR_STATUS[status]) ?? ApiErrorCode.Unknown;
}

export class CertsApiError extends Error {
  override readonly name = 'CertsApiError';
  readonly code: ApiErrorCode;
  /** HTTP status when the API answered; undefined for transport failures. */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: { code?: ApiErrorCode; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: normaliseCause(options.cause) });
    this.status = options.status;
    this.code = options.code ?? apiErrorCodeForStatus(options.status);
  }
}

export function isCertsApiError(error: unknown, code?: ApiErrorCode): error is CertsApiError {
  return error instanceof CertsApiError && (code === undefined || error.code === code);
}

function normaliseCause(cause: unknown): Error | undefined {
  if (cause === undefined || cause instanceof Error) return cause;
  return new Error(typeof cause === 'string' ? cause : JSON.stringify(cause));
}

/** A short description of any thrown value for log fields, with key-like text redacted. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof CertsApiError) {
    text = `${error.code}${error.status === undefined ? '' : ` (${error.status})`}: ${error.message}`;
  } else if (error instanceof Error) {
    text = error.message;
  } else {
    text = String(error);
  }
  return redactKeyMaterial(text).slice(0, 500);
}
