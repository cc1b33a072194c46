// What the commands need from the process, injected so tests can run them in memory.

import type { Connected } from './kube.js';
import type { ConnectOptions } from './kubeconfig.js';

export interface Output {
  write(text: string): void;
  readonly isTTY: boolean;
  /** Terminal size; undefined when not a terminal. */
  readonly columns?: number | undefined;
  readonly rows?: number | undefined;
  /** Calls `listener` when the terminal is resized; returns the unsubscribe function. */
  onResize?(listener: () => void): () => void;
}

export interface Io {
  out: Output;
  err: Output;
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
  /** Reads the kubeconfig and returns the cluster (throws a CliError). */
  connect(opts: ConnectOptions): Connected;
}

/** The width to fit output to: the terminal's, or none when output is not a terminal. */
export function widthOf(out: Output): number | undefined {
  return out.isTTY ? (out.columns ?? 80) : undefined;
}
