// Small pure formatting helpers shared by the renderers: percentages, the check column,
// ages, truncation to a terminal width, and aligned tables.

import { formatDuration } from '@steerer/common';
import type { AnalysisStatus } from '@steerer/common';

/** Up to two decimals, trailing zeros dropped: 99.5 → "99.5%", 88.888 → "88.89%". */
export function percent(value: number): string {
  return `${Number(value.toFixed(2))}%`;
}

/** The last check in a few characters: `99.5% ≥ 99%`, `88.9% < 99%`, `waiting: 40 more`, `no data`, `-`. */
export function checkText(analysis: AnalysisStatus | undefined): string {
  if (!analysis) return '-';
  const { successRate, threshold, result } = analysis;
  if (result === 'Waiting') {
    return analysis.needed !== undefined ? `waiting: ${analysis.needed} more` : 'waiting';
  }
  if (successRate !== undefined) {
    return `${percent(successRate)} ${successRate >= threshold ? '≥' : '<'} ${percent(threshold)}`;
  }
  switch (result) {
    case 'NoData':
      return 'no data';
    case 'Error':
      return 'error';
    case 'Pass':
      return 'pass';
    case 'Fail':
      return 'fail';
  }
}

/**
 * A compact age, as kubectl shows them: "0s", "42s", "4m12s" under ten minutes, then
 * minutes ("3h20m"), then hours ("30h"), then days ("3d").
 */
export function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000) return '0s';
  const minute = 60_000;
  const hour = 60 * minute;
  if (ms < 10 * minute) return formatDuration(Math.floor(ms / 1000) * 1000);
  if (ms < 10 * hour) return formatDuration(Math.floor(ms / minute) * minute);
  if (ms < 48 * hour) return formatDuration(Math.floor(ms / hour) * hour);
  return `${Math.floor(ms / (24 * hour))}d`;
}

/** The age of an RFC 3339 time at `now`, or "-" when there is none. */
export function since(time: string | undefined, now: number): string {
  const at = time === undefined ? NaN : Date.parse(time);
  return Number.isNaN(at) ? '-' : age(now - at);
}

/** Length in terminal cells, counting each code point as one (≥, … included). */
export function cells(text: string): number {
  return [...text].length;
}

/** One line: newlines and tabs become spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n\t]+\s*/g, ' ');
}

/** Cuts `text` to `width` cells with a trailing "…"; unlimited when width is undefined. */
export function truncate(text: string, width: number | undefined): string {
  if (width === undefined || cells(text) <= width) return text;
  if (width <= 0) return '';
  return `${[...text].slice(0, width - 1).join('')}…`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - cells(text)));
}

export interface TableOptions {
  /** Terminal width; undefined (not a terminal) never truncates. */
  width?: number | undefined;
  /** Put before every line. */
  indent?: string;
  /** The last column keeps at least this many cells however narrow the terminal. */
  minLast?: number;
}

/**
 * Left-aligned columns three spaces apart, kubectl style. Only the last column (a message)
 * is truncated so each line fits `width`.
 */
export function table(input: readonly (readonly string[])[], opts: TableOptions = {}): string[] {
  const indent = opts.indent ?? '';
  const rows = input.map((r) => r.map(oneLine));
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) =>
    Math.max(0, ...rows.map((r) => cells(r[i] ?? ''))),
  );
  const gap = '   ';
  const fixed = widths.slice(0, -1).reduce((sum, w) => sum + w + gap.length, cells(indent));
  const room =
    opts.width === undefined ? undefined : Math.max(opts.minLast ?? 10, opts.width - fixed);
  return rows.map((row) => {
    const fields = Array.from({ length: columns }, (_, i) => {
      const text = row[i] ?? '';
      const last = i === columns - 1;
      return last ? truncate(text, room) : pad(text, widths[i] ?? 0);
    });
    return (indent + fields.join(gap)).trimEnd();
  });
}
