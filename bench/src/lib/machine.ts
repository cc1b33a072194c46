// What a result was measured on, and how busy the machine was meanwhile: cores, memory,
// CPU model, Node, the pinned cluster versions (hack/versions.env), the commit, and CPU
// accounting from /proc for the whole machine and for single processes.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO } from '@steerer/test/e2e/harness';

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  kernel: string;
  clusterVersions: Record<string, string>;
  commit: string;
  dirty: boolean;
  loadAverage: number[];
}

/** KEY=value lines of hack/versions.env. */
export function clusterVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  const file = join(REPO, 'hack/versions.env');
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (m?.[1] && m[2]) out[m[1]] = m[2];
  }
  return out;
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    clusterVersions: clusterVersions(),
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Busy and total CPU time of the whole machine, in seconds (from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** User + system CPU seconds of one process (children excluded), or NaN if it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Current and peak resident memory of a process, in bytes (VmRSS, VmHWM). */
/**
 * A process's resident memory: all of it (VmRSS), its peak (VmHWM), and the part that is
 * its own (RssAnon: heap, stacks) as against pages of files (RssFile: mostly the node
 * binary's code and built-in data, shared by every process running the same binary).
 */
export function processMemory(pid: number): {
  rss: number;
  peak: number;
  anon: number;
  file: number;
} {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number =>
      Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1]) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return { rss: Number.NaN, peak: Number.NaN, anon: Number.NaN, file: Number.NaN };
  }
}

/** Pids whose command line contains `pattern` (first match per distinct command). */
export function findPids(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * CPU accounting over a span: the whole machine, named processes (e.g. the controller,
 * kube-apiserver), and so the share of the machine used by everything else.
 */
export class CpuMeter {
  private readonly start = machineCpu();
  private readonly startAt = performance.now();
  private readonly startByName = new Map<string, number>();

  constructor(private readonly processes: Record<string, number | undefined>) {
    for (const [name, pid] of Object.entries(processes))
      if (pid !== undefined) this.startByName.set(name, processCpuSeconds(pid));
  }

  /** Seconds elapsed, machine busy cores, and cores used by each named process. */
  read(): { seconds: number; machineBusyCores: number; cores: Record<string, number> } {
    const seconds = (performance.now() - this.startAt) / 1000;
    const now = machineCpu();
    const cores: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.processes)) {
      const before = this.startByName.get(name);
      if (pid === undefined || before === undefined) continue;
      cores[name] = round3((processCpuSeconds(pid) - before) / seconds);
    }
    return {
      seconds: round3(seconds),
      machineBusyCores: round3((now.busy - this.start.busy) / seconds),
      cores,
    };
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
