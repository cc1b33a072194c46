// Time as a dependency: every timer in the simulator goes through a Clock so tests can
// drive time with FakeClock (fake-clock.ts) instead of sleeping.

export type Cancel = () => void;

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Runs fn after ms; the returned function cancels it. */
  schedule(fn: () => void, ms: number): Cancel;
}

export const realClock: Clock = {
  now: () => performance.now(),
  schedule: (fn, ms) => {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

/** Resolves after ms, or at once when signal aborts (never rejects). */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.schedule(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
