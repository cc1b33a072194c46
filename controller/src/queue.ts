// A work queue of object keys: a key waits at most once however often it is added, is
// never processed by two workers at once, and can be scheduled for later. Failures are
// retried with per-key exponential backoff. One timer serves all delayed keys.

import { Backoff } from '@steerer/common';

export interface QueueOptions {
  concurrency: number;
  /** Handles one key; resolves to a delay after which to look again, if any. */
  handler: (key: string) => Promise<number | undefined>;
  /** Called when a handler throws; returns nothing. */
  onError: (key: string, error: unknown, retryInMs: number) => void;
  /** Backoff bounds for failing keys. */
  retry?: { initialMs: number; maxMs: number };
  now?: () => number;
}

interface Delayed {
  key: string;
  at: number;
}

/** A binary min-heap of delayed keys ordered by due time. */
class DelayHeap {
  private readonly items: Delayed[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Delayed | undefined {
    return this.items[0];
  }
  push(d: Delayed): void {
    const a = this.items;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as Delayed).at <= d.at) break;
      a[i] = a[p] as Delayed;
      i = p;
    }
    a[i] = d;
  }
  pop(): Delayed | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last.at;
        if (l < a.length && (a[l] as Delayed).at < mv) {
          m = l;
          mv = (a[l] as Delayed).at;
        }
        if (r < a.length && (a[r] as Delayed).at < mv) m = r;
        if (m === i) break;
        a[i] = a[m] as Delayed;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  /** Keys added while being processed: run again right after. */
  private readonly dirty = new Set<string>();
  /** The earliest time each delayed key is wanted. */
  private readonly due = new Map<string, number>();
  private readonly heap = new DelayHeap();
  private readonly failures = new Map<string, Backoff>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly options: QueueOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Keys waiting now (not counting delayed ones). */
  get depth(): number {
    return this.ready.length;
  }
  get delayedCount(): number {
    return this.due.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.pump();
  }

  /** Adds `key` after `ms`, unless it is already due sooner. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.now() + ms;
    const current = this.due.get(key);
    if (current !== undefined && current <= at) return;
    this.due.set(key, at);
    this.heap.push({ key, at });
    this.arm();
  }

  /** Forgets a key's delayed run and failure history (e.g. when its object is deleted). */
  forget(key: string): void {
    this.due.delete(key);
    this.failures.delete(key);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.ready.length = 0;
    this.queued.clear();
    this.due.clear();
    if (this.running === 0) this.notifyIdle();
  }

  /** Resolves when no handler is running (after stop(), when in-flight work is done). */
  drained(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private arm(): void {
    const next = this.heap.peek();
    if (!next || next.at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.at - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    for (let d = this.heap.peek(); d && d.at <= now; d = this.heap.peek()) {
      this.heap.pop();
      // Skip superseded entries: only the key's current due time counts.
      if (this.due.get(d.key) !== d.at) continue;
      this.due.delete(d.key);
      this.add(d.key);
    }
    this.arm();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.options.concurrency && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    let retryIn: number | undefined;
    let after: number | undefined;
    try {
      after = await this.options.handler(key);
      this.failures.delete(key);
    } catch (e) {
      let b = this.failures.get(key);
      if (!b) {
        b = new Backoff(this.options.retry ?? { initialMs: 200, maxMs: 60_000 });
        this.failures.set(key, b);
      }
      retryIn = b.next();
      try {
        this.options.onError(key, e, retryIn);
      } catch {
        // A failing error report must not stop the key's retries or the queue.
      }
    } finally {
      this.active.delete(key);
      this.running--;
    }
    if (this.dirty.delete(key)) this.add(key);
    else if (retryIn !== undefined) this.addAfter(key, retryIn);
    if (after !== undefined) this.addAfter(key, after);
    if (this.running === 0 && (this.stopped || this.ready.length === 0)) this.notifyIdle();
    this.pump();
  }

  private notifyIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
