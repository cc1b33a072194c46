// A manually advanced Clock for tests: timers fire in time order during advance().

import type { Cancel, Clock } from './clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  schedule(fn: () => void, ms: number): Cancel {
    const timer: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, firing due timers in order (including ones they schedule). */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = end;
  }

  /** Moves time without firing timers, like a blocked event loop; they fire late on advance. */
  stall(ms: number): void {
    this.current += ms;
  }

  /** Like advance, but lets promise continuations run between timers. */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.current + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.at);
      next.fn();
      await flushMicrotasks();
    }
    this.current = end;
  }

  private nextDue(end: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.at > end) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Lets queued promise continuations run (no wall-clock wait). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
