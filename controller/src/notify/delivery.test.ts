// The delivery queue with a fake clock (sleeps are recorded and return at once) and a fake
// sender: bounded whatever the receiver does, retries with capped exponential backoff,
// order kept, push never waits.

import { describe, expect, it } from '@jest/globals';
import { DeliveryQueue } from './delivery.js';
import type { Attempt, DeliveryOptions } from './delivery.js';

const OK: Attempt = { ok: true, code: '200' };
const E500: Attempt = { ok: false, retry: true, code: '500', error: 'HTTP 500' };
const E404: Attempt = { ok: false, retry: false, code: '404', error: 'HTTP 404' };

interface Log {
  sent: number[];
  sleeps: number[];
  delivered: number[];
  failed: [number, number][];
  dropped: [number, string][];
  depth: number[];
}

function queue(
  answer: (item: number, attempt: number) => Promise<Attempt> | Attempt,
  o: Partial<DeliveryOptions<number>> = {},
): { q: DeliveryQueue<number>; log: Log } {
  const log: Log = { sent: [], sleeps: [], delivered: [], failed: [], dropped: [], depth: [] };
  const attempts = new Map<number, number>();
  const q = new DeliveryQueue<number>({
    capacity: 10,
    maxAttempts: 5,
    backoff: { initialMs: 1000, maxMs: 30_000 },
    random: () => 1,
    sleep: (ms) => {
      log.sleeps.push(ms);
      return Promise.resolve();
    },
    send: async (item) => {
      log.sent.push(item);
      const n = (attempts.get(item) ?? 0) + 1;
      attempts.set(item, n);
      return answer(item, n);
    },
    delivered: (item) => log.delivered.push(item),
    failed: (item, _e, n) => log.failed.push([item, n]),
    dropped: (item, why) => log.dropped.push([item, why]),
    depth: (d) => log.depth.push(d),
    ...o,
  });
  return { q, log };
}

/** A send that never answers until released. */
function gate(): { wait: () => Promise<Attempt>; release: () => void } {
  let release = (): void => undefined;
  const p = new Promise<Attempt>((resolve) => {
    release = () => resolve(OK);
  });
  return { wait: () => p, release };
}

describe('delivery queue', () => {
  it('delivers in order, one at a time', async () => {
    const { q, log } = queue(() => OK);
    for (const i of [1, 2, 3]) q.push(i);
    await q.idle();
    expect(log.sent).toEqual([1, 2, 3]);
    expect(log.delivered).toEqual([1, 2, 3]);
    expect(log.sleeps).toEqual([]);
  });

  it('retries a 5xx with exponential backoff, capped, and gives up after maxAttempts', async () => {
    const { q, log } = queue(() => E500, {
      maxAttempts: 7,
      backoff: { initialMs: 1000, maxMs: 10_000 },
    });
    q.push(1);
    await q.idle();
    expect(log.sent).toEqual([1, 1, 1, 1, 1, 1, 1]);
    // random() = 1: the ceiling itself; doubling from 1s, capped at 10s.
    expect(log.sleeps).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(log.failed).toEqual([[1, 7]]);
    expect(log.delivered).toEqual([]);
  });

  it('jitters each wait between half the ceiling and the ceiling', async () => {
    const { q, log } = queue(() => E500, { maxAttempts: 4, random: () => 0 });
    q.push(1);
    await q.idle();
    expect(log.sleeps).toEqual([500, 1000, 2000]);
  });

  it('a receiver that recovers gets the message at the next attempt', async () => {
    let calls = 0;
    const { q, log } = queue(() => (++calls < 3 ? E500 : OK));
    q.push(1);
    q.push(2);
    await q.idle();
    expect(log.sent).toEqual([1, 1, 1, 2]);
    expect(log.delivered).toEqual([1, 2]);
  });

  it('does not retry a refusal (4xx other than 408 and 429)', async () => {
    const { q, log } = queue(() => E404);
    q.push(1);
    await q.idle();
    expect(log.sent).toEqual([1]);
    expect(log.failed).toEqual([[1, 1]]);
  });

  it('a sender that throws counts as a failed attempt, and the queue goes on', async () => {
    const { q, log } = queue(
      (item) => {
        if (item === 1) throw new Error('boom');
        return OK;
      },
      { maxAttempts: 2 },
    );
    q.push(1);
    q.push(2);
    await q.idle();
    expect(log.failed).toEqual([[1, 2]]);
    expect(log.delivered).toEqual([2]);
  });

  it('is bounded while a receiver hangs: push never waits, the oldest are dropped and counted', async () => {
    const g = gate();
    const { q, log } = queue(() => g.wait(), { capacity: 10 });
    const started = performance.now();
    for (let i = 1; i <= 1000; i++) q.push(i);
    expect(performance.now() - started).toBeLessThan(500);
    // One in flight (1), ten waiting (the newest), the rest dropped, oldest first.
    expect(q.depth).toBe(10);
    expect(log.sent).toEqual([1]);
    expect(log.dropped.length).toBe(989);
    expect(log.dropped[0]).toEqual([2, 'full']);
    expect(log.dropped.at(-1)).toEqual([990, 'full']);
    expect(Math.max(...log.depth)).toBeLessThanOrEqual(10);
    g.release();
    await q.idle();
    expect(log.delivered).toEqual([1, ...Array.from({ length: 10 }, (_x, i) => 991 + i)]);
  });

  it('close(): gives the queue its grace, then cuts the request in flight and drops the rest', async () => {
    // A receiver that never answers; only the stop signal ends the request.
    const { q, log } = queue(() => OK, {
      send: (_item, signal) =>
        new Promise<Attempt>((resolve) => {
          signal.addEventListener('abort', () =>
            resolve({ ok: false, retry: false, code: 'aborted', error: 'stopped' }),
          );
        }),
    });
    q.push(1);
    q.push(2);
    q.push(3);
    await q.close(100);
    expect(log.dropped).toEqual([
      [1, 'shutdown'],
      [2, 'shutdown'],
      [3, 'shutdown'],
    ]);
    q.push(4);
    expect(log.dropped.at(-1)).toEqual([4, 'shutdown']);
  });

  it('a push after the queue emptied starts it again', async () => {
    const { q, log } = queue(() => OK);
    q.push(1);
    await q.idle();
    q.push(2);
    await q.idle();
    expect(log.delivered).toEqual([1, 2]);
  });
});
