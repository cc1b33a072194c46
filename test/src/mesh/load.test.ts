import { describe, expect, it } from '@jest/globals';
import { FakeClock, flushMicrotasks } from './fake-clock.js';
import { LoadScheduler, parseLoadBody, type FireFn } from './load.js';
import { MemoryLogger } from './log.js';

function setup(options: { fire?: FireFn; maxInFlight?: number } = {}) {
  const clock = new FakeClock(5000);
  const fired: { key: string; at: number }[] = [];
  const fire: FireFn =
    options.fire ??
    ((key) => {
      fired.push({ key, at: clock.now() });
      return Promise.resolve();
    });
  const dropped: number[] = [];
  const skipped: string[] = [];
  const scheduler = new LoadScheduler({
    clock,
    log: new MemoryLogger(),
    fire,
    onDropped: (_k, n) => dropped.push(n),
    onSkipped: (k) => skipped.push(k),
    ...(options.maxInFlight !== undefined ? { maxInFlight: options.maxInFlight } : {}),
  });
  return { clock, fired, scheduler, dropped, skipped };
}

describe('LoadScheduler', () => {
  it('sends exactly rps requests per second, evenly spaced', () => {
    const { clock, fired, scheduler } = setup();
    scheduler.set('test/podinfo', { rps: 200, path: '/' });
    clock.advance(1000);
    expect(fired).toHaveLength(200);
    const gaps = fired.slice(1).map((f, i) => f.at - (fired[i]?.at ?? 0));
    expect(Math.min(...gaps)).toBeCloseTo(5);
    expect(Math.max(...gaps)).toBeCloseTo(5);
    clock.advance(9000);
    expect(fired).toHaveLength(2000);
  });

  it('has no drift at awkward rates', () => {
    const { clock, fired, scheduler } = setup();
    scheduler.set('a/b', { rps: 7, path: '/' });
    clock.advance(60_000);
    expect(fired).toHaveLength(420);
  });

  it('runs independent generators side by side', () => {
    const { clock, fired, scheduler } = setup();
    for (let i = 0; i < 10; i++) scheduler.set(`ns/vs${i}`, { rps: 200, path: '/' });
    clock.advance(2000);
    expect(fired).toHaveLength(4000);
    expect(new Set(fired.map((f) => f.key)).size).toBe(10);
  });

  it('changes rate at runtime and stops at rps 0 or on remove', () => {
    const { clock, fired, scheduler } = setup();
    scheduler.set('a/b', { rps: 10, path: '/' });
    clock.advance(1000);
    scheduler.set('a/b', { rps: 100, path: '/' });
    clock.advance(1000);
    expect(fired).toHaveLength(110);
    scheduler.set('a/b', { rps: 0, path: '/' });
    clock.advance(1000);
    expect(fired).toHaveLength(110);
    expect(scheduler.list()).toEqual([]);
    scheduler.set('a/b', { rps: 10, path: '/' });
    expect(scheduler.remove('a/b')).toBe(true);
    clock.advance(1000);
    expect(fired).toHaveLength(110);
    expect(clock.pending()).toBe(0);
  });

  it('drops instead of bursting after a stall', () => {
    const { clock, fired, scheduler, dropped } = setup();
    scheduler.set('a/b', { rps: 100, path: '/' });
    // Simulate a 2 s event-loop stall: move the clock without firing timers.
    clock.stall(2000);
    clock.advance(0);
    expect(fired.length).toBeLessThanOrEqual(10);
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(200 - fired.length);
  });

  it('counts skipped requests when the VirtualService does not exist', () => {
    const { clock, scheduler, skipped } = setup({ fire: () => undefined });
    scheduler.set('a/missing', { rps: 10, path: '/' });
    clock.advance(1000);
    expect(skipped).toHaveLength(10);
    expect(scheduler.list()[0]).toMatchObject({ sent: 0, skipped: 10 });
  });

  it('caps requests in flight', async () => {
    const pending: (() => void)[] = [];
    const { clock, scheduler, dropped } = setup({
      maxInFlight: 5,
      fire: () => new Promise<void>((resolve) => pending.push(resolve)),
    });
    scheduler.set('a/b', { rps: 10, path: '/' });
    clock.advance(1000);
    expect(scheduler.list()[0]).toMatchObject({ sent: 5, dropped: 5, inFlight: 5 });
    expect(dropped).toHaveLength(5);
    for (const resolve of pending) resolve();
    await flushMicrotasks();
    expect(scheduler.list()[0]?.inFlight).toBe(0);
  });

  it('stop() clears every timer', () => {
    const { clock, scheduler } = setup();
    scheduler.set('a/b', { rps: 10, path: '/' });
    scheduler.set('a/c', { rps: 10, path: '/' });
    scheduler.stop();
    expect(clock.pending()).toBe(0);
  });
});

describe('parseLoadBody', () => {
  it('defaults the path', () => {
    expect(parseLoadBody({ rps: 200 })).toEqual({ ok: true, value: { rps: 200, path: '/' } });
  });

  it.each([
    [{ rps: -1 }],
    [{ rps: '200' }],
    [{ rps: 1, path: 'x' }],
    [{ rps: 1, extra: true }],
    [null],
  ])('rejects %j', (body) => {
    expect(parseLoadBody(body).ok).toBe(false);
  });
});
