// A benchmark's result: machine facts, configuration, raw measurements and headline
// figures, written as JSON to bench/results/<name>-<date>.json, with one summary line per
// figure on stdout ("name value unit  # note") so runs are easy to diff and grep.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '@steerer/test/e2e/harness';
import { machineFacts } from './machine.js';
import type { MachineFacts } from './machine.js';

export interface Figure {
  name: string;
  value: number | null;
  unit: string;
  /** The target or floor this figure is compared with, in words. */
  note?: string;
}

export class Result {
  readonly startedAt = new Date();
  readonly machineBefore: MachineFacts = machineFacts();
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  data: Record<string, unknown> = {};

  constructor(
    readonly name: string,
    readonly config: Record<string, unknown>,
  ) {}

  /** Records a headline figure and prints its summary line at once. */
  figure(name: string, value: number | null | undefined, unit: string, note?: string): void {
    const v = value === undefined || value === null || !Number.isFinite(value) ? null : value;
    const f: Figure = { name, value: v, unit, ...(note ? { note } : {}) };
    this.figures.push(f);
    process.stdout.write(`${name} ${v ?? 'n/a'} ${unit}${note ? `  # ${note}` : ''}\n`);
  }

  note(text: string): void {
    this.notes.push(text);
    process.stdout.write(`# ${text}\n`);
  }

  /** Writes the JSON file and returns its path. */
  write(): string {
    const dir = join(REPO, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const day = this.startedAt.toISOString().slice(0, 10);
    const file = join(dir, `${this.name}-${day}.json`);
    const finishedAt = new Date();
    const body = {
      benchmark: this.name,
      startedAt: this.startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: Math.round((finishedAt.getTime() - this.startedAt.getTime()) / 1000),
      machine: { ...this.machineBefore, loadAverageAfter: machineFacts().loadAverage },
      config: this.config,
      figures: this.figures,
      notes: this.notes,
      ...this.data,
    };
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
    process.stdout.write(`# result written to ${file}\n`);
    return file;
  }
}

/** Progress on stderr, so stdout stays the figures. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
