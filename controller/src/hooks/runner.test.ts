import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@steerer/common';
import type { HookType } from '@steerer/common';
import { ControllerMetrics } from '../metrics.js';
import type { HookCall, HookResult } from '../planner/types.js';
import { HookRunner } from './runner.js';
import type { HookPost } from './runner.js';

function call(
  name: string,
  id: string,
  over: Partial<HookCall> & { type?: HookType; url?: string; timeoutMs?: number } = {},
): HookCall {
  const type = over.type ?? 'rollout';
  return {
    id,
    hook: {
      name,
      type,
      url: over.url ?? `http://hooks.test/${name}`,
      timeoutMs: over.timeoutMs ?? 1000,
      metadata: {},
    },
    payload: {
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      revision: id,
      weight: 10,
      hook: { name, type },
      metadata: {},
    },
    priorAttempts: over.priorAttempts ?? 0,
    ...(over.maxAttempts !== undefined ? { maxAttempts: over.maxAttempts } : {}),
  };
}

/** Resolves once `n` wake-ups have been seen. */
function wakes(): { keys: string[]; until(n: number): Promise<void>; on(key: string): void } {
  const keys: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    keys,
    on(key) {
      keys.push(key);
      for (const w of waiters.filter((x) => keys.length >= x.n)) w.resolve();
    },
    until(n) {
      return keys.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
  };
}

/** The result of the Rollout's call of `name` (the one with `id`, or the latest). */
function res(r: HookRunner, key: string, name: string, id?: string): HookResult | undefined {
  const list = r.latest(key)?.get(name) ?? [];
  return id === undefined ? list.at(-1) : list.find((x) => x.id === id);
}

let runner: HookRunner | undefined;
let server: Server | undefined;

afterEach(async () => {
  runner?.stop();
  runner = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server?.close(r));
    server = undefined;
  }
});

function make(post: HookPost, w = wakes(), metrics?: ControllerMetrics): HookRunner {
  runner = new HookRunner({
    onSettled: (k) => w.on(k),
    logger: silentLogger,
    post,
    backoff: { initialMs: 10, maxMs: 40, random: () => 1 },
    ...(metrics ? { metrics } : {}),
  });
  return runner;
}

describe('HookRunner', () => {
  it('posts the payload as JSON with the call id, reports the result and wakes the Rollout', async () => {
    const seen: { url: string; body: unknown; headers: Record<string, string> }[] = [];
    const w = wakes();
    const metrics = new ControllerMetrics();
    const r = make(
      (url, body, headers) => {
        seen.push({ url, body: JSON.parse(body), headers });
        return Promise.resolve(204);
      },
      w,
      metrics,
    );
    r.want('test/podinfo', [call('smoke', 'rev1', { type: 'pre-rollout' })]);
    expect(res(r, 'test/podinfo', 'smoke')).toMatchObject({ phase: 'Running', attempts: 0 });
    await w.until(1);
    expect(w.keys).toEqual(['test/podinfo']);
    expect(res(r, 'test/podinfo', 'smoke')).toMatchObject({
      id: 'rev1',
      phase: 'Succeeded',
      attempts: 1,
      code: 204,
      message: 'HTTP 204',
    });
    expect(seen).toEqual([
      {
        url: 'http://hooks.test/smoke',
        body: expect.objectContaining({
          revision: 'rev1',
          hook: { name: 'smoke', type: 'pre-rollout' },
        }),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'steerer-controller',
          'x-steerer-hook-id': 'test/podinfo/smoke/rev1',
          'x-steerer-attempt': '1',
        },
      },
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('steerer_hook_calls_total{type="pre-rollout",result="success"} 1');
    expect(text).toContain('steerer_hook_call_duration_seconds_count{type="pre-rollout"} 1');
  });

  it('does not call again for the same id, and calls anew for a new id', async () => {
    let n = 0;
    const w = wakes();
    const r = make(() => {
      n++;
      return Promise.resolve(200);
    }, w);
    r.want('k', [call('load', 'rev1@10')]);
    await w.until(1);
    r.want('k', [call('load', 'rev1@10')]);
    r.want('k', [call('load', 'rev1@10')]);
    expect(n).toBe(1);
    r.want('k', [call('load', 'rev1@20')]);
    await w.until(2);
    expect(n).toBe(2);
    expect(res(r, 'k', 'load', 'rev1@20')?.phase).toBe('Succeeded');
    expect(res(r, 'k', 'load', 'rev1@10')?.phase).toBe('Succeeded');
  });

  it('retries a failing call with backoff while wanted, reporting each attempt', async () => {
    const statuses = [500, 503, 200];
    const w = wakes();
    const r = make(() => Promise.resolve(statuses.shift() ?? 200), w);
    r.want('k', [call('load', 'rev1')]);
    await w.until(1);
    expect(res(r, 'k', 'load')).toMatchObject({
      phase: 'Failed',
      attempts: 1,
      code: 500,
      message: 'HTTP 500',
    });
    await w.until(3);
    expect(res(r, 'k', 'load')).toMatchObject({ phase: 'Succeeded', attempts: 3 });
  });

  it('gives up after maxAttempts, counting the attempts made before a restart', async () => {
    let n = 0;
    const w = wakes();
    const r = make((url) => {
      if (url.endsWith('/db')) n++;
      return Promise.resolve(500);
    }, w);
    r.want('k', [call('db', 'rev1', { type: 'post-rollout', priorAttempts: 3, maxAttempts: 5 })]);
    await w.until(2);
    expect(res(r, 'k', 'db')).toMatchObject({ phase: 'Failed', attempts: 5 });
    // No third attempt: wait past several backoffs by waiting for another, shorter call.
    r.want('k2', [call('x', 'a')]);
    await w.until(3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(n).toBe(2);
  });

  it('a call no longer wanted is not retried, keeps its result a while, and is not made twice when wanted again', async () => {
    let n = 0;
    const w = wakes();
    runner = new HookRunner({
      onSettled: (k) => w.on(k),
      logger: silentLogger,
      post: () => {
        n++;
        return Promise.resolve(n === 1 ? 500 : 200);
      },
      backoff: { initialMs: 10, maxMs: 10 },
      graceMs: 50,
    });
    const r = runner;
    r.want('k', [call('load', 'rev1')]);
    r.want('k', []); // a pass planned from a stale cache
    await w.until(1);
    expect(res(r, 'k', 'load')).toMatchObject({ phase: 'Failed', attempts: 1 });
    r.want('k', [call('load', 'rev1')]); // wanted again: retried, not started over
    await w.until(2);
    expect(n).toBe(2);
    expect(res(r, 'k', 'load')).toMatchObject({ phase: 'Succeeded', attempts: 2 });
    r.want('k', []);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(r.latest('k')).toBeUndefined();
    expect(r.size).toBe(0);
    expect(n).toBe(2);
  });

  it('a call whose URL changed is aborted and made to the new URL', async () => {
    const w = wakes();
    const urls: string[] = [];
    let aborted = false;
    const r = make((url, _b, _h, signal) => {
      urls.push(url);
      if (url.endsWith('/old'))
        return new Promise<number>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        });
      return Promise.resolve(200);
    }, w);
    r.want('k', [call('load', 'rev1', { url: 'http://h/old', timeoutMs: 60_000 })]);
    r.want('k', [call('load', 'rev1', { url: 'http://h/new' })]);
    await w.until(1);
    expect(aborted).toBe(true);
    expect(urls).toEqual(['http://h/old', 'http://h/new']);
    expect(r.latest('k')?.get('load')).toEqual([expect.objectContaining({ phase: 'Succeeded' })]);
  });

  it('a hanging receiver times out (one attempt) without holding up another Rollout', async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return; // never answered
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const w = wakes();
    runner = new HookRunner({
      onSettled: (k) => w.on(k),
      logger: silentLogger,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    const started = Date.now();
    runner.want('hang', [call('load', 'r', { url: `${base}/hang`, timeoutMs: 1000 })]);
    runner.want('fine', [call('load', 'r', { url: `${base}/ok` })]);
    await w.until(1);
    expect(w.keys).toEqual(['fine']);
    expect(Date.now() - started).toBeLessThan(900);
    await w.until(2);
    expect(res(runner, 'hang', 'load')).toMatchObject({
      phase: 'Failed',
      attempts: 1,
      message: 'timed out after 1s',
    });
    expect(res(runner, 'hang', 'load')?.code).toBeUndefined();
  });

  it('says "connection refused" for a receiver that is down, never the URL', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server?.close(r));
    server = undefined;
    const w = wakes();
    runner = new HookRunner({
      onSettled: (k) => w.on(k),
      logger: silentLogger,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    runner.want('k', [call('x', 'r', { url: `http://127.0.0.1:${port}/secret-token` })]);
    await w.until(1);
    const m = res(runner, 'k', 'x')?.message ?? '';
    expect(m).toBe('connection refused');
  });
});
