import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { WorkQueue } from './queue.js';
import type { QueueOptions } from './queue.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A queue whose handler records each call and waits for the test to finish it:
 * `finish(key)` resolves the oldest pending call of `key`.
 */
class Harness {
  readonly calls: string[] = [];
  readonly errors: { key: string; message: string; retryInMs: number }[] = [];
  readonly pending = new Map<string, Deferred<number | undefined>[]>();
  running = 0;
  maxRunning = 0;
  readonly queue: WorkQueue;

  constructor(options: Partial<QueueOptions> = {}) {
    this.queue = new WorkQueue({
      concurrency: 1,
      handler: (key) => {
        this.calls.push(key);
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        const d = deferred<number | undefined>();
        const list = this.pending.get(key) ?? [];
        list.push(d);
        this.pending.set(key, list);
        return d.promise.finally(() => this.running--);
      },
      onError: (key, e, retryInMs) =>
        this.errors.push({ key, message: (e as Error).message, retryInMs }),
      now: () => Date.now(),
      ...options,
    });
  }

  async finish(key: string, result?: number | Error): Promise<void> {
    const d = this.pending.get(key)?.shift();
    if (!d) throw new Error(`${key} is not running`);
    if (result instanceof Error) d.reject(result);
    else d.resolve(result);
    await flush();
  }
}

/** Lets promise callbacks run (fake timers leave microtasks alone). */
async function flush(): Promise<void> {
  await jest.advanceTimersByTimeAsync(0);
}

beforeEach(() => {
  jest.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('WorkQueue', () => {
  it('runs an added key', async () => {
    const h = new Harness();
    h.queue.add('a');
    expect(h.calls).toEqual(['a']);
    await h.finish('a');
    expect(h.queue.depth).toBe(0);
  });

  it('keeps a waiting key once however often it is added', async () => {
    const h = new Harness();
    h.queue.add('a');
    h.queue.add('b');
    h.queue.add('b');
    h.queue.add('c');
    h.queue.add('b');
    expect(h.queue.depth).toBe(2);
    await h.finish('a');
    await h.finish('b');
    await h.finish('c');
    expect(h.calls).toEqual(['a', 'b', 'c']);
  });

  it('never runs one key twice at once, and runs it once more if added meanwhile', async () => {
    const h = new Harness({ concurrency: 4 });
    h.queue.add('a');
    h.queue.add('a');
    h.queue.add('a');
    expect(h.calls).toEqual(['a']);
    expect(h.queue.depth).toBe(0);
    await h.finish('a');
    expect(h.calls).toEqual(['a', 'a']);
    await h.finish('a');
    expect(h.calls).toEqual(['a', 'a']);
    expect(h.maxRunning).toBe(1);
  });

  it('runs other keys while one is busy', async () => {
    const h = new Harness({ concurrency: 2 });
    h.queue.add('a');
    h.queue.add('a');
    h.queue.add('b');
    expect(h.calls).toEqual(['a', 'b']);
    await h.finish('b');
    await h.finish('a');
    expect(h.calls).toEqual(['a', 'b', 'a']);
  });

  it('runs at most `concurrency` handlers at once', async () => {
    const h = new Harness({ concurrency: 2 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) h.queue.add(k);
    expect(h.calls).toEqual(['a', 'b']);
    expect(h.queue.depth).toBe(3);
    await h.finish('a');
    expect(h.calls).toEqual(['a', 'b', 'c']);
    await h.finish('b');
    await h.finish('c');
    await h.finish('d');
    await h.finish('e');
    expect(h.calls).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(h.maxRunning).toBe(2);
  });

  describe('addAfter', () => {
    it('runs the key when it is due, not before', async () => {
      const h = new Harness();
      h.queue.addAfter('a', 1000);
      expect(h.queue.delayedCount).toBe(1);
      await jest.advanceTimersByTimeAsync(999);
      expect(h.calls).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(h.calls).toEqual(['a']);
      expect(h.queue.delayedCount).toBe(0);
    });

    it('keeps the earliest due time', async () => {
      const h = new Harness();
      h.queue.addAfter('a', 500);
      h.queue.addAfter('a', 2000);
      await jest.advanceTimersByTimeAsync(500);
      expect(h.calls).toEqual(['a']);
      await h.finish('a');
      await jest.advanceTimersByTimeAsync(5000);
      expect(h.calls).toEqual(['a']);
    });

    it('moves a key forward when added again sooner, running it once', async () => {
      const h = new Harness();
      h.queue.addAfter('a', 2000);
      h.queue.addAfter('a', 300);
      expect(h.queue.delayedCount).toBe(1);
      await jest.advanceTimersByTimeAsync(300);
      expect(h.calls).toEqual(['a']);
      await h.finish('a');
      await jest.advanceTimersByTimeAsync(5000);
      expect(h.calls).toEqual(['a']);
    });

    it('orders many delayed keys by due time with one timer', async () => {
      const h = new Harness({ concurrency: 10 });
      const delays: [string, number][] = [
        ['e', 500],
        ['b', 200],
        ['d', 400],
        ['a', 100],
        ['c', 300],
      ];
      for (const [k, ms] of delays) h.queue.addAfter(k, ms);
      expect(jest.getTimerCount()).toBe(1);
      for (let t = 0; t < 5; t++) await jest.advanceTimersByTimeAsync(100);
      expect(h.calls).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('adds at once for a delay of zero or less', () => {
      const h = new Harness();
      h.queue.addAfter('a', 0);
      h.queue.addAfter('b', -5);
      expect(h.calls).toEqual(['a']);
      expect(h.queue.depth).toBe(1);
    });

    it('runs a key that comes due while it is running once more afterwards', async () => {
      const h = new Harness();
      h.queue.add('a');
      h.queue.addAfter('a', 100);
      await jest.advanceTimersByTimeAsync(100);
      expect(h.calls).toEqual(['a']);
      await h.finish('a');
      expect(h.calls).toEqual(['a', 'a']);
    });

    it('looks again after the delay a handler returns', async () => {
      const h = new Harness();
      h.queue.add('a');
      await h.finish('a', 1500);
      expect(h.queue.delayedCount).toBe(1);
      await jest.advanceTimersByTimeAsync(1499);
      expect(h.calls).toEqual(['a']);
      await jest.advanceTimersByTimeAsync(1);
      expect(h.calls).toEqual(['a', 'a']);
    });

    it('forget drops a delayed run', async () => {
      const h = new Harness();
      h.queue.addAfter('a', 100);
      h.queue.forget('a');
      expect(h.queue.delayedCount).toBe(0);
      await jest.advanceTimersByTimeAsync(1000);
      expect(h.calls).toEqual([]);
    });
  });

  describe('failures', () => {
    it('retries a failing key with growing backoff, and resets after a success', async () => {
      const h = new Harness({ retry: { initialMs: 100, maxMs: 1000 } });
      h.queue.add('a');
      await h.finish('a', new Error('conflict'));
      expect(h.errors).toHaveLength(1);
      const first = h.errors[0]?.retryInMs as number;
      expect(h.errors[0]).toMatchObject({ key: 'a', message: 'conflict' });
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThanOrEqual(100);
      await jest.advanceTimersByTimeAsync(first - 1);
      expect(h.calls).toEqual(['a']);
      await jest.advanceTimersByTimeAsync(1);
      expect(h.calls).toEqual(['a', 'a']);

      await h.finish('a', new Error('again'));
      const second = h.errors[1]?.retryInMs as number;
      expect(second).toBeGreaterThanOrEqual(100);
      expect(second).toBeLessThanOrEqual(200);
      await jest.advanceTimersByTimeAsync(second);
      expect(h.calls).toHaveLength(3);

      await h.finish('a'); // success forgets the failures
      h.queue.add('a');
      await h.finish('a', new Error('new trouble'));
      expect(h.errors[2]?.retryInMs).toBeLessThanOrEqual(100);
    });

    it('caps the backoff', async () => {
      const h = new Harness({ retry: { initialMs: 100, maxMs: 300 } });
      h.queue.add('a');
      for (let i = 0; i < 6; i++) {
        await h.finish('a', new Error('down'));
        await jest.advanceTimersByTimeAsync(h.errors.at(-1)?.retryInMs ?? 0);
      }
      expect(Math.max(...h.errors.map((e) => e.retryInMs))).toBeLessThanOrEqual(300);
      expect(h.errors.at(-1)?.retryInMs).toBeGreaterThanOrEqual(150);
    });

    it('keeps failures of different keys apart', async () => {
      const h = new Harness({ concurrency: 2, retry: { initialMs: 100, maxMs: 10_000 } });
      h.queue.add('a');
      await h.finish('a', new Error('1'));
      await jest.advanceTimersByTimeAsync(100);
      await h.finish('a', new Error('2'));
      h.queue.add('b');
      await h.finish('b', new Error('1'));
      expect(h.errors.map((e) => [e.key, e.retryInMs <= 100])).toEqual([
        ['a', true],
        ['a', false],
        ['b', true],
      ]);
    });

    it('retries at once, not after the backoff, when the key was added while failing', async () => {
      const h = new Harness({ retry: { initialMs: 10_000, maxMs: 10_000 } });
      h.queue.add('a');
      h.queue.add('a');
      await h.finish('a', new Error('stale'));
      expect(h.calls).toEqual(['a', 'a']);
    });

    it('survives an onError that throws', async () => {
      const h = new Harness({
        retry: { initialMs: 100, maxMs: 100 },
        onError: () => {
          throw new Error('logger broke');
        },
      });
      h.queue.add('a');
      h.queue.add('b');
      await h.finish('a', new Error('x'));
      expect(h.calls).toEqual(['a', 'b']);
      await h.finish('b');
      await jest.advanceTimersByTimeAsync(100);
      expect(h.calls).toEqual(['a', 'b', 'a']);
      await h.finish('a');
      await expect(h.queue.drained()).resolves.toBeUndefined();
    });
  });

  describe('stop and drained', () => {
    it('drained resolves at once when nothing runs', async () => {
      const h = new Harness();
      await expect(h.queue.drained()).resolves.toBeUndefined();
    });

    it('drops waiting and delayed keys, lets running ones finish, and ignores new ones', async () => {
      const h = new Harness();
      h.queue.add('a');
      h.queue.add('b');
      h.queue.addAfter('c', 100);
      h.queue.add('a'); // would run again
      h.queue.stop();
      expect(h.queue.depth).toBe(0);
      expect(h.queue.delayedCount).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
      let drained = false;
      const done = h.queue.drained().then(() => (drained = true));
      await flush();
      expect(drained).toBe(false);
      h.queue.add('d');
      h.queue.addAfter('e', 10);
      await h.finish('a', 50); // would look again in 50ms
      await done;
      expect(drained).toBe(true);
      await jest.advanceTimersByTimeAsync(1000);
      expect(h.calls).toEqual(['a']);
    });

    it('drained resolves after stop when nothing was running', async () => {
      const h = new Harness();
      h.queue.addAfter('a', 100);
      h.queue.stop();
      await expect(h.queue.drained()).resolves.toBeUndefined();
    });

    it('drained waits for every running handler', async () => {
      const h = new Harness({ concurrency: 3 });
      h.queue.add('a');
      h.queue.add('b');
      let drained = false;
      const done = h.queue.drained().then(() => (drained = true));
      await h.finish('a');
      expect(drained).toBe(false);
      await h.finish('b');
      await done;
      expect(drained).toBe(true);
    });
  });
});
