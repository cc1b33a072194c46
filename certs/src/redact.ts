// Keeping key material out of logs. Nothing in this package logs keys on purpose — only names,
// fingerprints, dates and reasons — but text from elsewhere (API error messages, which may
// quote the object an admission plugin rejected) passes through here before it is logged or
// rethrown.

import { SteererError, errorMessage } from '@steerer/common/model';

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;
const LONG_BASE64 = /[A-Za-z0-9+/=]{64,}/g;

/**
 * Defence in depth for text that reaches a log from elsewhere (API error bodies): blanks PEM
 * blocks and long base64 runs, which is what keys look like in PEM or in a Secret's data.
 */
export function redactKeyMaterial(text: string): string {
  return text.replace(PEM_BLOCK, '[redacted PEM]').replace(LONG_BASE64, '[redacted]');
}

/** A short description of any thrown value for log fields, with key-like text redacted. */
export function describeError(error: unknown): string {
  const text =
    error instanceof SteererError
      ? `${error.code}${error.status === undefined ? '' : ` (${error.status})`}: ${error.message}`
      : errorMessage(error);
  return redactKeyMaterial(text).slice(0, 500);
}
