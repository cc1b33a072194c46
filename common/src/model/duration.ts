// Durations as users write them in specs and flags ("30s", "1m", "1m30s", "500ms").

import { ErrorCode, SteererError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Pattern accepted by `parseDuration`; also used in the CRD schema. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
const WHOLE = new RegExp(DURATION_PATTERN);
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;

/** Parses a Go-style duration into milliseconds; undefined when it is not one. */
export function tryParseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(PART)) {
    const value = Number(match[1]);
    const unit = match[2] as Unit;
    total += value * UNIT_MS[unit];
  }
  const ms = Math.round(total);
  // Absurdly long digit strings would otherwise become Infinity or lose precision.
  return Number.isSafeInteger(ms) ? ms : undefined;
}

export function parseDuration(text: string, what = 'duration'): number {
  const ms = tryParseDuration(text.trim());
  if (ms === undefined) {
    throw new SteererError(
      ErrorCode.Invalid,
      `${what}: "${text}" is not a duration (examples: 30s, 1m, 1m30s, 500ms)`,
    );
  }
  return ms;
}

/**
 * Formats milliseconds compactly: 90000 → "1m30s", 500 → "500ms". From one second up,
 * the value is rounded to whole seconds.
 */
export function formatDuration(ms: number): string {
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

/** A PromQL range selector duration: whole seconds, at least 1s. */
export function promDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}
