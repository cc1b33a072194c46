import { afterEach, describe, expect, it } from '@jest/globals';
import { Receiver } from './receiver.js';

let receiver: Receiver | undefined;

afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function start(): Promise<Receiver> {
  receiver = await Receiver.start();
  return receiver;
}

async function post(
  url: string,
  body: unknown,
  signal?: AbortSignal,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test': 'yes' },
    body: JSON.stringify(body),
    signal,
  });
  return { status: res.status, json: await res.json() };
}

describe('Receiver', () => {
  it('listens on a random loopback port and records method, path, query, headers and JSON', async () => {
    const r = await start();
    expect(r.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const before = Date.now();
    const res = await post(r.url('/hooks/pre?x=1'), { name: 'podinfo', weight: 10 });
    expect(res.status).toBe(200);
    const [got] = r.requests('/hooks/pre');
    expect(got).toMatchObject({
      seq: 0,
      method: 'POST',
      path: '/hooks/pre',
      query: 'x=1',
      json: { name: 'podinfo', weight: 10 },
      status: 200,
    });
    expect(got?.headers['x-test']).toBe('yes');
    expect(got?.at).toBeGreaterThanOrEqual(before);
    expect(r.requests('/other')).toEqual([]);
    expect(r.requests()).toHaveLength(1);
  });

  it('keeps a body that is not JSON as text', async () => {
    const r = await start();
    await fetch(r.url('/t'), { method: 'POST', body: 'plain' });
    expect(r.requests('/t')[0]).toMatchObject({ text: 'plain', json: undefined });
  });

  it('fails with the status it is told, per path', async () => {
    const r = await start();
    r.setBehaviour('/bad', { kind: 'fail', status: 503 });
    expect((await post(r.url('/bad'), {})).status).toBe(503);
    expect((await post(r.url('/good'), {})).status).toBe(200);
    r.setDefaultBehaviour({ kind: 'fail', status: 500 });
    expect((await post(r.url('/good'), {})).status).toBe(500);
  });

  it('fails a number of times, then answers 200', async () => {
    const r = await start();
    r.setBehaviour('/flaky', { kind: 'fail-times', times: 2, status: 500 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(r.url('/flaky'), {})).status);
    expect(statuses).toEqual([500, 500, 200]);
  });

  it('answers a switch path no until flipped to yes', async () => {
    const r = await start();
    r.setBehaviour('/confirm', { kind: 'switch', on: false });
    expect((await post(r.url('/confirm'), {})).status).toBe(403);
    r.flip('/confirm', true);
    expect((await post(r.url('/confirm'), {})).status).toBe(200);
    r.flip('/new', false);
    expect((await post(r.url('/new'), {})).status).toBe(403);
  });

  it('answers slowly after the delay', async () => {
    const r = await start();
    r.setBehaviour('/slow', { kind: 'slow', delayMs: 150 });
    const t0 = Date.now();
    expect((await post(r.url('/slow'), {})).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('hangs: the request is recorded but never answered, and close() drops it', async () => {
    const r = await start();
    r.setBehaviour('/hang', { kind: 'hang' });
    const pending = post(r.url('/hang'), { a: 1 }).then(
      () => 'answered',
      () => 'dropped',
    );
    const seen = await r.waitFor((all) => all.find((q) => q.path === '/hang'), 5_000);
    expect(seen.status).toBeUndefined();
    await r.close();
    await expect(pending).resolves.toBe('dropped');
  });

  it('a client timeout ends a hanging request on the client side', async () => {
    const r = await start();
    r.setBehaviour('/hang', { kind: 'hang' });
    await expect(post(r.url('/hang'), {}, AbortSignal.timeout(100))).rejects.toThrow();
    expect(r.requests('/hang')).toHaveLength(1);
  });

  it('waitFor resolves when a later request satisfies the probe, and rejects at its deadline', async () => {
    const r = await start();
    const waiting = r.waitFor((all) => all.length >= 2 && all.map((q) => q.path), 5_000);
    await post(r.url('/a'), {});
    await post(r.url('/b'), {});
    await expect(waiting).resolves.toEqual(['/a', '/b']);
    await expect(r.waitFor((all) => all.length > 5, 50, 'six requests')).rejects.toThrow(
      /timed out after 50 ms waiting for six requests; 2 requests: POST \/a → 200/,
    );
  });

  it('clear() forgets the requests but keeps the behaviours', async () => {
    const r = await start();
    r.setBehaviour('/x', { kind: 'fail', status: 418 });
    await post(r.url('/x'), {});
    r.clear();
    expect(r.requests()).toEqual([]);
    expect((await post(r.url('/x'), {})).status).toBe(418);
    expect(r.requests()[0]?.seq).toBe(0);
  });
});
