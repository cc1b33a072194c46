import { describe, expect, it } from '@jest/globals';
import { FakeClock, flushMicrotasks } from './fake-clock.js';
import { MemoryLogger } from './log.js';
import {
  backoffDelay,
  runReflector,
  statusOf,
  type ListResult,
  type ResourceSource,
  type WatchEvent,
} from './reflector.js';
import type { ReflectorSink } from './store.js';

type Call = { kind: 'list' } | { kind: 'watch'; rv: string; timeoutSeconds: number };

type WatchScript = (emit: (e: WatchEvent) => void, signal: AbortSignal) => Promise<void>;

/** A scripted source: each list()/watch() call takes the next behaviour from its queue. */
class ScriptedSource implements ResourceSource {
  readonly resource = 'things';
  readonly calls: Call[] = [];
  lists: (() => Promise<ListResult>)[] = [];
  watches: WatchScript[] = [];

  list(): Promise<ListResult> {
    this.calls.push({ kind: 'list' });
    const next = this.lists.shift();
    return next ? next() : Promise.reject(new Error('no more lists scripted'));
  }

  watch(
    rv: string,
    timeoutSeconds: number,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.calls.push({ kind: 'watch', rv, timeoutSeconds });
    const next = this.watches.shift();
    return next ? next(onEvent, signal) : untilAborted(signal);
  }
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

class RecordingSink implements ReflectorSink {
  readonly ops: string[] = [];
  replace(items: readonly unknown[]): void {
    this.ops.push(`replace:${items.map(name).join(',')}`);
  }
  upsert(obj: unknown): void {
    this.ops.push(`upsert:${name(obj)}`);
  }
  remove(obj: unknown): void {
    this.ops.push(`remove:${name(obj)}`);
  }
}

function name(obj: unknown): string {
  return (obj as { metadata: { name: string } }).metadata.name;
}

function obj(n: string, rv: string): unknown {
  return { metadata: { name: n, namespace: 'ns', resourceVersion: rv } };
}

const list =
  (rv: string, ...names: string[]) =>
  (): Promise<ListResult> =>
    Promise.resolve({ items: names.map((n) => obj(n, rv)), resourceVersion: rv });

function start(source: ScriptedSource, clock: FakeClock) {
  const sink = new RecordingSink();
  const abort = new AbortController();
  const log = new MemoryLogger();
  const errors: unknown[] = [];
  const done = runReflector(
    source,
    sink,
    {
      clock,
      log,
      random: () => 0.5,
      onError: (e) => errors.push(e),
      watchTimeoutSeconds: [300, 300],
    },
    abort.signal,
  );
  return { sink, abort, log, errors, done };
}

describe('runReflector', () => {
  it('lists, then applies watch events and rewatches from the last resourceVersion', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.lists = [list('10', 'a', 'b')];
    source.watches = [
      (emit) => {
        emit({ type: 'ADDED', object: obj('c', '11') });
        emit({ type: 'MODIFIED', object: obj('a', '12') });
        emit({ type: 'DELETED', object: obj('b', '13') });
        emit({ type: 'BOOKMARK', object: obj('', '15') });
        return Promise.resolve(); // the server closed the stream (timeout)
      },
    ];
    const r = start(source, clock);
    await flushMicrotasks();
    expect(r.sink.ops).toEqual(['replace:a,b', 'upsert:c', 'upsert:a', 'remove:b']);
    expect(source.calls).toEqual([
      { kind: 'list' },
      { kind: 'watch', rv: '10', timeoutSeconds: 300 },
      { kind: 'watch', rv: '15', timeoutSeconds: 300 },
    ]);
    r.abort.abort();
    await r.done;
    expect(r.errors).toEqual([]);
  });

  it('relists at once after a 410 ERROR event', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.lists = [list('10', 'a'), list('50', 'a', 'z')];
    source.watches = [
      (emit, signal) => {
        emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
        return untilAborted(signal);
      },
    ];
    const r = start(source, clock);
    await flushMicrotasks();
    expect(source.calls.map((c) => (c.kind === 'watch' ? `watch@${c.rv}` : 'list'))).toEqual([
      'list',
      'watch@10',
      'list',
      'watch@50',
    ]);
    expect(r.sink.ops).toEqual(['replace:a', 'replace:a,z']);
    expect(r.errors).toEqual([]);
    r.abort.abort();
    await r.done;
  });

  it('relists at once when the watch request itself fails with 410', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.lists = [list('10', 'a'), list('11', 'a')];
    source.watches = [() => Promise.reject(Object.assign(new Error('Gone'), { statusCode: 410 }))];
    const r = start(source, clock);
    await flushMicrotasks();
    expect(source.calls.filter((c) => c.kind === 'list')).toHaveLength(2);
    r.abort.abort();
    await r.done;
  });

  it('backs off with growing, capped delays after errors and never throws', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    const fail = (): Promise<ListResult> =>
      Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }));
    source.lists = Array.from({ length: 8 }, () => fail);
    source.lists.push(list('99', 'a'));
    const r = start(source, clock);
    const listTimes: number[] = [];
    for (let i = 0; i < 2000 && listTimes.length < 9; i++) {
      await flushMicrotasks();
      while (listTimes.length < source.calls.filter((c) => c.kind === 'list').length)
        listTimes.push(clock.now());
      await clock.advanceAsync(100);
    }
    const gaps = listTimes.slice(1).map((t, i) => t - (listTimes[i] ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(500);
    expect(gaps[1]).toBeGreaterThanOrEqual(1000);
    expect(gaps[2]).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(15_100);
    expect(r.errors).toHaveLength(8);
    expect(r.sink.ops).toEqual(['replace:a']);
    r.abort.abort();
    await r.done;
  });

  it('relists after a watch error, after a backoff', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.lists = [list('1', 'a'), list('2', 'a')];
    source.watches = [
      (emit) => {
        emit({ type: 'ADDED', object: obj('b', '2') });
        return Promise.reject(new Error('socket hang up'));
      },
    ];
    const r = start(source, clock);
    await flushMicrotasks();
    expect(r.errors).toHaveLength(1);
    expect(r.log.messages('warn')).toEqual(['list/watch failed; relisting after backoff']);
    await clock.advanceAsync(1000);
    expect(source.calls.map((c) => c.kind)).toEqual(['list', 'watch', 'list', 'watch']);
    r.abort.abort();
    await r.done;
  });

  it('treats a watch that closes at once without events as a failure (no hot loop)', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.lists = [list('1', 'a'), list('1', 'a')];
    source.watches = [() => Promise.resolve()];
    const r = start(source, clock);
    await flushMicrotasks();
    expect(source.calls.map((c) => c.kind)).toEqual(['list', 'watch']);
    expect(r.errors).toHaveLength(1);
    r.abort.abort();
    await r.done;
  });

  it('aborts a watch that stays quiet past its timeout and reconnects', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.lists = [list('7', 'a')];
    const r = start(source, clock);
    await flushMicrotasks();
    expect(source.calls).toHaveLength(2);
    await clock.advanceAsync(300_000 + 29_000);
    expect(source.calls).toHaveLength(2);
    await clock.advanceAsync(1_000);
    expect(source.calls.map((c) => (c.kind === 'watch' ? `watch@${c.rv}` : 'list'))).toEqual([
      'list',
      'watch@7',
      'watch@7',
    ]);
    expect(r.log.messages('info')).toContain('watch went quiet; reconnecting');
    r.abort.abort();
    await r.done;
  });

  it('relists periodically', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.lists = [list('1', 'a'), list('2', 'a')];
    source.watches = Array.from(
      { length: 5 },
      (): WatchScript => (_emit, signal) =>
        new Promise((resolve) => {
          const cancel = clock.schedule(resolve, 240_000);
          signal.addEventListener('abort', () => {
            cancel();
            resolve();
          });
        }),
    );
    const r = start(source, clock);
    await flushMicrotasks();
    await clock.advanceAsync(3 * 240_000);
    expect(source.calls.map((c) => c.kind)).toEqual([
      'list',
      'watch',
      'watch',
      'watch',
      'list',
      'watch',
    ]);
    r.abort.abort();
    await r.done;
  });
});

describe('helpers', () => {
  it('caps backoff with jitter', () => {
    expect(backoffDelay(1, 500, 15_000, () => 0.5)).toBe(500);
    expect(backoffDelay(3, 500, 15_000, () => 0.5)).toBe(2000);
    expect(backoffDelay(30, 500, 15_000, () => 1)).toBe(18_000);
    expect(backoffDelay(30, 500, 15_000, () => 0)).toBe(12_000);
  });

  it('finds status codes on errors and Status objects', () => {
    expect(statusOf({ statusCode: 410 })).toBe(410);
    expect(statusOf({ code: 410, kind: 'Status' })).toBe(410);
    expect(statusOf({ code: 'ECONNREFUSED' })).toBeUndefined();
    expect(statusOf({ body: { code: 403 } })).toBe(403);
  });
});
