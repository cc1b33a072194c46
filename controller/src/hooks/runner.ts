// The lifecycle webhook runner: makes the calls the planner wants (Plan.hooks), off the
// reconcile loop, and feeds their results back as observed state (latest(), read by the next
// plan) — like the analysis hub does with measurements. An outbound call never blocks a
// reconcile: a receiver that hangs holds one socket until the hook's timeout, nothing more.
//
// Per Rollout the runner holds the calls the planner wants, by (hook name, id: the revision,
// and the weight for rollout hooks). A call is retried after a failed attempt with capped
// exponential backoff while it is wanted (up to maxAttempts when set). A call no longer
// wanted is not retried and is forgotten after a grace period, its result kept meanwhile: a
// pass planned from a cache a moment stale must not make a call twice. Each attempt that
// ends wakes the Rollout.

import { Backoff, errorMessage, formatDuration } from '@steerer/common';
import type { Logger } from '@steerer/common';
import type { ControllerMetrics } from '../metrics.js';
import type { HookCall, HookResult, HookResults } from '../planner/types.js';

/** Sends one attempt; resolves to the HTTP status, rejects on a network error or abort. */
export type HookPost = (
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
) => Promise<number>;

export interface HookRunnerOptions {
  /** Called when an attempt ends (the Rollout's key): the planner has a result to read. */
  onSettled: (rolloutKey: string) => void;
  logger: Logger;
  metrics?: Pick<ControllerMetrics, 'hookCalls' | 'hookCallDuration' | 'hooksInFlight'>;
  post?: HookPost;
  /** Backoff between failed attempts: 1 s doubling to 30 s by default, with jitter. */
  backoff?: { initialMs: number; maxMs: number; random?: () => number };
  now?: () => number;
}

/** The default transport: fetch, POST, no redirects followed, the answer's body discarded. */
export const fetchPost: HookPost = async (url, body, headers, signal) => {
  const res = await fetch(url, { method: 'POST', body, headers, signal, redirect: 'manual' });
  await res.body?.cancel().catch(() => undefined);
  return res.status;
};

interface Entry {
  key: string;
  call: HookCall;
  result: HookResult;
  abort: AbortController;
  backoff: Backoff;
  /** Wanted by the latest plan of its Rollout. */
  wanted: boolean;
  inFlight: boolean;
  /** The next attempt (a retry after a failure). */
  timer?: NodeJS.Timeout | undefined;
  /** When an entry no longer wanted is forgotten. */
  forget?: NodeJS.Timeout | undefined;
}

type Outcome = 'success' | 'failure' | 'timeout' | 'error';

/** A network error, in words users can act on (never the URL: it may carry a token). */
function networkMessage(e: unknown): string {
  // fetch wraps the socket's error as its cause (not always an Error of this realm).
  const wrapped =
    typeof e === 'object' && e !== null ? (e as { cause?: unknown }).cause : undefined;
  const cause = typeof wrapped === 'object' && wrapped !== null ? wrapped : e;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const words: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host not found (DNS)',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
  };
  if (typeof code === 'string') return words[code] ?? `network error ${code}`;
  return `network error: ${errorMessage(cause)}`;
}

/** How long a call no longer wanted is kept (its result, and no second call for it). */
const GRACE_MS = 60_000;

function entryKey(name: string, id: string): string {
  return `${name}\u0000${id}`;
}

export class HookRunner {
  /** By Rollout, by (hook name, call id). */
  private readonly byKey = new Map<string, Map<string, Entry>>();
  private readonly post: HookPost;
  private readonly now: () => number;
  private readonly graceMs: number;
  private stopped = false;

  constructor(private readonly o: HookRunnerOptions & { graceMs?: number }) {
    this.post = o.post ?? fetchPost;
    this.now = o.now ?? Date.now;
    this.graceMs = o.graceMs ?? GRACE_MS;
  }

  /**
   * The calls wanted for a Rollout now. A call no longer wanted is not retried, and is
   * forgotten a while later (its attempt under way ends by its timeout): a pass planned from
   * a stale cache may not want a call the next pass wants again, and it must not be made
   * twice. A call to a hook whose URL changed is aborted and made to the new URL.
   */
  want(key: string, calls: readonly HookCall[]): void {
    const entries = this.byKey.get(key) ?? new Map<string, Entry>();
    const wanted = new Map(calls.map((c) => [entryKey(c.hook.name, c.id), c]));
    for (const [k, e] of entries) {
      const call = wanted.get(k);
      if (call && call.hook.url !== e.call.hook.url) this.drop(entries, k, e);
      else if (!call && e.wanted) this.unwant(entries, k, e);
    }
    for (const [k, call] of wanted) {
      const e = entries.get(k);
      if (e) this.rewant(e, call);
      else if (!this.stopped) {
        const fresh = this.entry(key, call);
        entries.set(k, fresh);
        void this.attempt(fresh);
      }
    }
    if (entries.size > 0) this.byKey.set(key, entries);
    else this.byKey.delete(key);
  }

  /** The latest result of each call held for the Rollout, by hook name. */
  latest(key: string): HookResults | undefined {
    const entries = this.byKey.get(key);
    if (!entries) return undefined;
    const out = new Map<string, HookResult[]>();
    for (const e of entries.values()) {
      const list = out.get(e.call.hook.name) ?? [];
      list.push({ ...e.result });
      out.set(e.call.hook.name, list);
    }
    return out;
  }

  /** Calls held (under way, waiting to be retried, or kept a while), over all Rollouts. */
  get size(): number {
    let n = 0;
    for (const entries of this.byKey.values()) n += entries.size;
    return n;
  }

  /** Aborts every call (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const entries of this.byKey.values()) {
      for (const [k, e] of entries) this.drop(entries, k, e);
    }
    this.byKey.clear();
  }

  private entry(key: string, call: HookCall): Entry {
    return {
      key,
      call,
      result: { id: call.id, phase: 'Running', attempts: call.priorAttempts, at: this.now() },
      abort: new AbortController(),
      backoff: new Backoff({
        initialMs: this.o.backoff?.initialMs ?? 1000,
        maxMs: this.o.backoff?.maxMs ?? 30_000,
        ...(this.o.backoff?.random ? { random: this.o.backoff.random } : {}),
      }),
      wanted: true,
      inFlight: false,
    };
  }

  private drop(entries: Map<string, Entry>, k: string, e: Entry): void {
    clearTimeout(e.timer);
    clearTimeout(e.forget);
    e.abort.abort();
    entries.delete(k);
    if (entries.size === 0 && this.byKey.get(e.key) === entries) this.byKey.delete(e.key);
  }

  /** No longer wanted: no retry; forgotten after the grace once no attempt is under way. */
  private unwant(entries: Map<string, Entry>, k: string, e: Entry): void {
    e.wanted = false;
    clearTimeout(e.timer);
    e.timer = undefined;
    if (!e.inFlight) this.forgetLater(entries, k, e);
  }

  private forgetLater(entries: Map<string, Entry>, k: string, e: Entry): void {
    clearTimeout(e.forget);
    e.forget = setTimeout(() => {
      if (!e.wanted && entries.get(k) === e) this.drop(entries, k, e);
    }, this.graceMs);
    e.forget.unref();
  }

  /** Wanted (again): keep its result; a failed call not under way is retried. */
  private rewant(e: Entry, call: HookCall): void {
    e.call = { ...call, payload: e.call.payload };
    if (e.wanted) return;
    e.wanted = true;
    clearTimeout(e.forget);
    e.forget = undefined;
    if (e.result.phase === 'Failed' && !e.inFlight && this.retryAllowed(e)) this.retryLater(e);
  }

  private retryAllowed(e: Entry): boolean {
    const max = e.call.maxAttempts;
    return max === undefined || e.result.attempts < max;
  }

  private retryLater(e: Entry): void {
    e.timer = setTimeout(() => void this.attempt(e), e.backoff.next());
    e.timer.unref();
  }

  private async attempt(e: Entry): Promise<void> {
    e.timer = undefined;
    const { hook } = e.call;
    const attempt = e.result.attempts + 1;
    const started = this.now();
    const timeout = AbortSignal.timeout(hook.timeoutMs);
    const signal = AbortSignal.any([e.abort.signal, timeout]);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'steerer-controller',
      // Receivers can tell a retry (same id) from a new call: at-least-once delivery.
      'x-steerer-hook-id': `${e.key}/${hook.name}/${e.call.id}`,
      'x-steerer-attempt': String(attempt),
    };
    this.o.metrics?.hooksInFlight.inc();
    e.inFlight = true;
    let outcome: Outcome;
    let code: number | undefined;
    let message: string;
    try {
      code = await this.post(hook.url, JSON.stringify(e.call.payload), headers, signal);
      outcome = code >= 200 && code < 300 ? 'success' : 'failure';
      message = `HTTP ${code}`;
    } catch (err) {
      outcome = timeout.aborted ? 'timeout' : 'error';
      message =
        outcome === 'timeout'
          ? `timed out after ${formatDuration(hook.timeoutMs)}`
          : networkMessage(err);
    } finally {
      this.o.metrics?.hooksInFlight.dec();
      e.inFlight = false;
    }
    if (e.abort.signal.aborted) return; // no longer wanted: nobody reads the result
    const ms = this.now() - started;
    this.o.metrics?.hookCalls.inc({ type: hook.type, result: outcome });
    this.o.metrics?.hookCallDuration.observe({ type: hook.type }, ms / 1000);
    this.settle(e, outcome, attempt, message, code);
  }

  private settle(
    e: Entry,
    outcome: Outcome,
    attempts: number,
    message: string,
    code: number | undefined,
  ): void {
    const { hook } = e.call;
    e.result = {
      id: e.call.id,
      phase: outcome === 'success' ? 'Succeeded' : 'Failed',
      attempts,
      at: this.now(),
      message,
      ...(code !== undefined ? { code } : {}),
    };
    const retry = outcome !== 'success' && e.wanted && this.retryAllowed(e);
    const log = { rollout: e.key, hook: hook.name, type: hook.type, attempt: attempts, message };
    if (outcome === 'success') this.o.logger.info('hook succeeded', log);
    else this.o.logger.warn(retry ? 'hook failed; will retry' : 'hook failed', log);
    if (retry) this.retryLater(e);
    if (!e.wanted) {
      const entries = this.byKey.get(e.key);
      if (entries) this.forgetLater(entries, entryKey(hook.name, e.call.id), e);
    }
    this.o.onSettled(e.key);
  }
}
