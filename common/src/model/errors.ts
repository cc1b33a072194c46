// One error type for the whole project. Expected outcomes are returned as values; this is
// for failures that cross a boundary (API calls, configuration, queries).

export const ErrorCode = {
  /** The Kubernetes API answered with an HTTP error status (see `status`). */
  Api: 'Api',
  /** A request did not complete: connection refused, reset, DNS, TLS. */
  Network: 'Network',
  /** A request took longer than its deadline. */
  Timeout: 'Timeout',
  /** Input failed validation (flags, environment, a spec, a request body). */
  Invalid: 'Invalid',
  /** A dependency answered with something we cannot use (bad JSON, wrong shape). */
  BadResponse: 'BadResponse',
  /** The operation was aborted by its AbortSignal. */
  Aborted: 'Aborted',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SteererError extends Error {
  readonly code: ErrorCode;
  /** HTTP status for `Api` errors. */
  readonly status: number | undefined;
  /** Kubernetes Status `reason` (NotFound, Conflict, AlreadyExists, ...) when known. */
  readonly reason: string | undefined;
  /** Seconds the server asked us to wait (Retry-After), when given. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      status?: number;
      reason?: string;
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: toError(options.cause) });
    this.name = 'SteererError';
    this.code = code;
    this.status = options.status;
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/**
 * True for Errors, including ones from another realm (a vm context, as under jest), which
 * fail `instanceof Error` but carry a name and a message.
 */
export function isErrorLike(value: unknown): value is Error {
  if (value instanceof Error) return true;
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; message?: unknown };
  return typeof v.name === 'string' && typeof v.message === 'string';
}

/** Normalises anything thrown into an Error. */
export function toError(value: unknown): Error {
  if (isErrorLike(value)) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** True when `e` is a Kubernetes API error, optionally with one of the given statuses. */
export function isApiError(e: unknown, ...statuses: number[]): e is SteererError {
  return (
    e instanceof SteererError &&
    e.code === ErrorCode.Api &&
    (statuses.length === 0 || (e.status !== undefined && statuses.includes(e.status)))
  );
}

export function errorMessage(e: unknown): string {
  return toError(e).message;
}
