// The structured logger this package writes to. Callers pass their own (winston in the webhook);
// nothing in this package logs key material — only names, fingerprints, dates and reasons.

export type LogFields = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;
const LONG_BASE64 = /[A-Za-z0-9+/=]{64,}/g;

/**
 * Defence in depth for text that reaches a log from elsewhere (API error bodies): blanks PEM
 * blocks and long base64 runs, which is what keys look like in PEM or in a Secret's data.
 */
export function redactKeyMaterial(text: string): string {
  return text.replace(PEM_BLOCK, '[redacted PEM]').replace(LONG_BASE64, '[redacted]');
}
