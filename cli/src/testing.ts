// Test support for the plugin's unit tests: an in-memory cluster (FakeKube) and process
// (memoryIo) with a clock that only moves when the code under test sleeps.

import { ANNOTATIONS } from '@steerer/common';
import type { EventObject, Request, RolloutObject, RolloutStatus } from '@steerer/common';
import { CliError } from './errors.js';
import type { Io, Output } from './io.js';
import type { Kube, RolloutSink } from './kube.js';

export const NOW = Date.parse('2026-03-01T12:00:00Z');

export function rollout(
  name: string,
  status: RolloutStatus = {},
  namespace = 'test',
  annotations?: Record<string, string>,
): RolloutObject {
  return {
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: {},
    status,
  };
}

export function event(
  name: string,
  message: string,
  lastTimestamp: string,
  extra: Partial<EventObject> = {},
): EventObject {
  return {
    metadata: { name, namespace: 'test' },
    involvedObject: { kind: 'Rollout', name: 'podinfo', namespace: 'test' },
    reason: 'Synced',
    message,
    type: 'Normal',
    source: { component: 'steerer' },
    lastTimestamp,
    ...extra,
  };
}

type Method = 'listRollouts' | 'getRollout' | 'listEvents' | 'annotateRequest';

export class FakeKube implements Kube {
  readonly server = 'https://fake.example:6443';
  readonly rollouts = new Map<string, RolloutObject>();
  events: EventObject[] = [];
  readonly calls: string[] = [];
  /** Errors to throw, by method. */
  readonly failures: Partial<Record<Method, CliError>> = {};
  /** Called on every getRollout, before it answers (a controller acting between polls). */
  onGet?: (count: number) => void;
  gets = 0;
  sink: RolloutSink | undefined;
  closed = false;
  private watchEnded: (() => void) | undefined;

  constructor(...rollouts: RolloutObject[]) {
    for (const r of rollouts) this.put(r);
  }

  put(r: RolloutObject): void {
    this.rollouts.set(`${r.metadata.namespace}/${r.metadata.name}`, r);
  }

  private check(method: Method): void {
    const e = this.failures[method];
    if (e) throw e;
  }

  private find(namespace: string, name: string): RolloutObject {
    const r = this.rollouts.get(`${namespace}/${name}`);
    if (!r) throw new CliError(`rollout ${name} not found in namespace ${namespace}`);
    return structuredClone(r);
  }

  listRollouts(namespace: string | undefined): Promise<RolloutObject[]> {
    this.calls.push(`list ${namespace ?? '*'}`);
    this.check('listRollouts');
    const all = [...this.rollouts.values()];
    return Promise.resolve(
      all.filter((r) => namespace === undefined || r.metadata.namespace === namespace),
    );
  }

  getRollout(namespace: string, name: string): Promise<RolloutObject> {
    this.calls.push(`get ${namespace}/${name}`);
    this.check('getRollout');
    this.onGet?.(++this.gets);
    return Promise.resolve(this.find(namespace, name));
  }

  listEvents(namespace: string, name: string): Promise<EventObject[]> {
    this.calls.push(`events ${namespace}/${name}`);
    this.check('listEvents');
    return Promise.resolve(this.events);
  }

  annotateRequest(namespace: string, name: string, request: Request): Promise<RolloutObject> {
    this.calls.push(`patch ${namespace}/${name} ${request}`);
    this.check('annotateRequest');
    const r = this.find(namespace, name);
    r.metadata.annotations = { ...r.metadata.annotations, [ANNOTATIONS.request]: request };
    this.put(r);
    return Promise.resolve(structuredClone(r));
  }

  /** What the controller does with a request: record it and remove the annotation. */
  handle(
    namespace: string,
    name: string,
    outcome: 'Done' | 'Refused',
    message: string,
    time: string,
  ): void {
    const r = this.find(namespace, name);
    const action = r.metadata.annotations?.[ANNOTATIONS.request] ?? '?';
    delete r.metadata.annotations?.[ANNOTATIONS.request];
    r.status = { ...r.status, lastRequest: { action, time, outcome, message } };
    this.put(r);
  }

  watch(_namespace: string, _name: string, sink: RolloutSink, signal: AbortSignal): Promise<void> {
    this.sink = sink;
    return new Promise((resolve) => {
      this.watchEnded = resolve;
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Ends a watch as if the signal had been aborted. */
  endWatch(): void {
    this.watchEnded?.();
  }

  close(): void {
    this.closed = true;
  }
}

export interface MemoryOutput extends Output {
  text: string;
}

export function memoryOutput(isTTY = false, columns?: number, rows?: number): MemoryOutput {
  const out = {
    text: '',
    isTTY,
    columns,
    rows,
    write(t: string): void {
      out.text += t;
    },
  };
  return out;
}

export interface MemoryIo extends Io {
  out: MemoryOutput;
  err: MemoryOutput;
  controller: AbortController;
  clock: { now: number };
  ticks: (() => void)[];
}

/** A process in memory: `sleep` moves the clock at once; `every` collects the ticks. */
export function memoryIo(
  kube: Kube,
  opts: { tty?: boolean; columns?: number; rows?: number } = {},
): MemoryIo {
  const controller = new AbortController();
  const clock = { now: NOW };
  const ticks: (() => void)[] = [];
  return {
    out: memoryOutput(opts.tty ?? false, opts.columns, opts.rows),
    err: memoryOutput(false),
    controller,
    clock,
    ticks,
    signal: controller.signal,
    now: () => clock.now,
    sleep: (ms) => {
      clock.now += ms;
      return Promise.resolve();
    },
    every: (_ms, tick) => {
      ticks.push(tick);
      return () => {
        const i = ticks.indexOf(tick);
        if (i >= 0) ticks.splice(i, 1);
      };
    },
    connect: (o) => ({ kube, namespace: o.namespace ?? 'test' }),
  };
}
