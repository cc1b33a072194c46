// One receiver's delivery queue: in memory, bounded, one request at a time (so messages
// arrive in the order they were decided), each retried with capped exponential backoff
// and full jitter. push() never waits: the reconcile loop hands a message over and goes
// on. When the queue is full (a receiver down for long) the oldest waiting message is
// dropped and counted, so memory stays bounded whatever the receiver does.

import { Backoff, abortableSleep } from '@steerer/common';

/** How one attempt went. `retry`: worth trying again (5xx, 429, timeout, network). */
export type Attempt =
  { ok: true; code: string } | { ok: false; retry: boolean; code: string; error: string };

export interface DeliveryHooks<T> {
  /** Every attempt's outcome (`code`: an HTTP status, `timeout` or `network`). */
  attempted?(item: T, a: Attempt, attempt: number): void;
  delivered?(item: T, attempts: number): void;
  /** Given up: a permanent error, or the last attempt failed. */
  failed?(item: T, error: string, attempts: number): void;
  /** Dropped unsent: the queue was full, or the controller stopped. */
  dropped?(item: T, why: 'full' | 'shutdown'): void;
  depth?(depth: number): void;
}

export interface DeliveryOptions<T> extends DeliveryHooks<T> {
  /** Messages waiting (besides the one being sent) before the oldest is dropped. */
  capacity: number;
  /** Attempts per message, the first included. */
  maxAttempts: number;
  backoff: { initialMs: number; maxMs: number };
  send(item: T, signal: AbortSignal): Promise<Attempt>;
  /** Resolves after `ms`, or at once when `signal` aborts (a fake clock in tests). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export class DeliveryQueue<T> {
  private readonly waiting: T[] = [];
  private readonly stop = new AbortController();
  /** A run loop is under way (set and cleared synchronously with the queue's state). */
  private busy = false;
  private running: Promise<void> = Promise.resolve();
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly o: DeliveryOptions<T>) {
    this.sleep = o.sleep ?? abortableSleep;
  }

  /** Messages waiting, not counting one being sent. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Queues a message; never waits. */
  push(item: T): void {
    if (this.stop.signal.aborted) {
      this.o.dropped?.(item, 'shutdown');
      return;
    }
    this.waiting.push(item);
    while (this.waiting.length > Math.max(0, this.o.capacity)) {
      const oldest = this.waiting.shift();
      if (oldest !== undefined) this.o.dropped?.(oldest, 'full');
    }
    this.o.depth?.(this.waiting.length);
    if (!this.busy) {
      this.busy = true;
      this.running = this.run();
    }
  }

  /** Resolves once nothing waits or is being sent. */
  async idle(): Promise<void> {
    while (this.busy) await this.running;
  }

  /**
   * Gives what is queued up to `graceMs` to go out, then stops: the request in flight is
   * cut off and what still waits is dropped (and counted).
   */
  async close(graceMs: number): Promise<void> {
    if (this.busy) {
      const grace = new AbortController();
      await Promise.race([this.idle(), this.sleep(graceMs, grace.signal)]);
      grace.abort();
    }
    this.stop.abort();
    await this.idle();
    for (const item of this.waiting.splice(0)) this.o.dropped?.(item, 'shutdown');
    this.o.depth?.(0);
  }

  private async run(): Promise<void> {
    for (;;) {
      const item = this.stop.signal.aborted ? undefined : this.waiting.shift();
      if (item === undefined) {
        this.busy = false;
        return;
      }
      this.o.depth?.(this.waiting.length);
      try {
        await this.deliver(item);
      } catch {
        // A hook that throws must not stop the queue; the message counts as handled.
      }
    }
  }

  private async deliver(item: T): Promise<void> {
    const backoff = new Backoff({ ...this.o.backoff, random: this.o.random });
    const signal = this.stop.signal;
    let last = 'not attempted';
    let attempts = 0;
    while (attempts < this.o.maxAttempts && !signal.aborted) {
      if (attempts > 0) {
        await this.sleep(backoff.next(), signal);
        if (signal.aborted) break;
      }
      attempts++;
      let a: Attempt;
      try {
        a = await this.o.send(item, signal);
      } catch (e) {
        a = { ok: false, retry: true, code: 'error', error: e instanceof Error ? e.name : 'error' };
      }
      this.o.attempted?.(item, a, attempts);
      if (a.ok) {
        this.o.delivered?.(item, attempts);
        return;
      }
      last = a.error;
      if (!a.retry) break;
    }
    if (signal.aborted) this.o.dropped?.(item, 'shutdown');
    else this.o.failed?.(item, last, attempts);
  }
}
