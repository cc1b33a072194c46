// Steady background load: per VirtualService, `rps` requests a second, spread evenly in
// time. Each generator schedules its next request at start + k/rps (drift-free); if the
// event loop stalls it catches up by at most `maxCatchUpMs` worth of requests and drops
// the rest rather than bursting. Requests are fired through an injected function (the
// gateway's in-process handler in main.ts) so this module knows nothing about routing.

import type { Cancel, Clock } from './clock.js';
import type { Logger } from './log.js';

export interface LoadSpec {
  readonly rps: number;
  readonly path: string;
}

export const MAX_RPS = 20_000;

/** Fires one request; undefined when it could not be sent (e.g. no such VirtualService). */
export type FireFn = (key: string, spec: LoadSpec) => Promise<unknown> | undefined;

export interface LoadStatus {
  readonly key: string;
  readonly rps: number;
  readonly path: string;
  readonly sent: number;
  readonly skipped: number;
  readonly dropped: number;
  readonly inFlight: number;
}

interface Generator {
  spec: LoadSpec;
  start: number;
  /** Requests due so far that were handled (fired, skipped or dropped). */
  issued: number;
  sent: number;
  skipped: number;
  dropped: number;
  inFlight: number;
  cancel: Cancel;
}

export function parseLoadBody(
  body: unknown,
): { ok: true; value: LoadSpec } | { ok: false; error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object like {"rps":200,"path":"/"}' };
  }
  const { rps, path, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) {
    return { ok: false, error: `unknown field(s) ${Object.keys(rest).join(', ')}` };
  }
  if (typeof rps !== 'number' || !Number.isFinite(rps) || rps < 0 || rps > MAX_RPS) {
    return { ok: false, error: `rps must be a number within 0..${MAX_RPS}` };
  }
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    return { ok: false, error: 'path must be a string starting with /' };
  }
  return { ok: true, value: { rps, path: path ?? '/' } };
}

export class LoadScheduler {
  private readonly generators = new Map<string, Generator>();
  private readonly maxCatchUpMs: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly deps: {
      clock: Clock;
      fire: FireFn;
      log: Logger;
      onSkipped?: (key: string) => void;
      onDropped?: (key: string, n: number) => void;
      maxCatchUpMs?: number;
      maxInFlight?: number;
    },
  ) {
    this.maxCatchUpMs = deps.maxCatchUpMs ?? 100;
    this.maxInFlight = deps.maxInFlight ?? 10_000;
  }

  /** Starts, changes or (rps 0) stops the load for one VirtualService key. */
  set(key: string, spec: LoadSpec): void {
    this.remove(key, false);
    if (spec.rps <= 0) {
      this.deps.log.info('background load stopped', { virtualservice: key });
      return;
    }
    const g: Generator = {
      spec,
      start: this.deps.clock.now(),
      issued: 0,
      sent: 0,
      skipped: 0,
      dropped: 0,
      inFlight: 0,
      cancel: () => undefined,
    };
    this.generators.set(key, g);
    this.deps.log.info('background load set', {
      virtualservice: key,
      rps: spec.rps,
      path: spec.path,
    });
    this.schedule(key, g);
  }

  remove(key: string, log = true): boolean {
    const g = this.generators.get(key);
    if (!g) return false;
    g.cancel();
    this.generators.delete(key);
    if (log) this.deps.log.info('background load stopped', { virtualservice: key });
    return true;
  }

  list(): LoadStatus[] {
    return [...this.generators.entries()]
      .map(([key, g]) => ({
        key,
        rps: g.spec.rps,
        path: g.spec.path,
        sent: g.sent,
        skipped: g.skipped,
        dropped: g.dropped,
        inFlight: g.inFlight,
      }))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  stop(): void {
    for (const key of [...this.generators.keys()]) this.remove(key, false);
  }

  private schedule(key: string, g: Generator): void {
    const due = g.start + ((g.issued + 1) * 1000) / g.spec.rps;
    g.cancel = this.deps.clock.schedule(() => this.tick(key, g), due - this.deps.clock.now());
  }

  private tick(key: string, g: Generator): void {
    if (this.generators.get(key) !== g) return;
    const elapsed = this.deps.clock.now() - g.start;
    // The epsilon keeps float rounding from landing a tick just short of its request.
    let due = Math.floor((elapsed * g.spec.rps) / 1000 + 1e-9) - g.issued;
    const maxBurst = Math.max(1, Math.ceil((g.spec.rps * this.maxCatchUpMs) / 1000));
    if (due > maxBurst) {
      g.dropped += due - maxBurst;
      g.issued += due - maxBurst;
      this.deps.onDropped?.(key, due - maxBurst);
      due = maxBurst;
    }
    for (let i = 0; i < due; i++) {
      g.issued += 1;
      if (g.inFlight >= this.maxInFlight) {
        g.dropped += 1;
        this.deps.onDropped?.(key, 1);
        continue;
      }
      const pending = this.deps.fire(key, g.spec);
      if (!pending) {
        g.skipped += 1;
        this.deps.onSkipped?.(key);
        continue;
      }
      g.sent += 1;
      g.inFlight += 1;
      pending.then(
        () => (g.inFlight -= 1),
        (error: unknown) => {
          g.inFlight -= 1;
          this.deps.log.error('background request failed', { virtualservice: key, error });
        },
      );
    }
    this.schedule(key, g);
  }
}
