// Time seams: the clock and timers are injected so rotation decisions are pure functions of
// `now` and tests drive the certificate manager's timers by hand instead of sleeping.

/** Current time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** setTimeout/clearTimeout behind an interface; the handle is opaque to callers. */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Largest delay setTimeout honours; longer values fire immediately. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
    // A pending certificate check must never keep an otherwise finished process alive.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
