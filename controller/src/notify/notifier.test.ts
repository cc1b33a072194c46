// The notifier between the reconciler and the queues: who gets what (the controller's
// defaults, a Rollout's spec.notifications), dedupe, metrics, and URLs kept out of logs.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MemoryLogger } from '@steerer/common';
import type {
  NotificationReceiver,
  NotificationsSpec,
  RolloutObject,
  RolloutSpec,
  RolloutStatus,
} from '@steerer/common';
import { postJson } from './http.js';
import { Notifier, receiversIn } from './notifier.js';
import type { NotifierOptions, Post } from './notifier.js';

const SECRET_URL = 'https://hooks.example.com/services/T000/B000/s3cr3t-t0k3n';

interface Sent {
  url: string;
  body: unknown;
  contentType: string;
}

function setup(
  o: Partial<NotifierOptions> = {},
  answer: () => Awaited<ReturnType<Post>> = () => ({ ok: true, code: '200' }),
): { n: Notifier; sent: Sent[]; logger: MemoryLogger; metrics: string[] } {
  const sent: Sent[] = [];
  const metrics: string[] = [];
  const logger = new MemoryLogger();
  const url = (r: NotificationReceiver) => () => Promise.resolve(`${SECRET_URL}/${r}`);
  const n = new Notifier({
    receivers: { slack: url('slack'), teams: url('teams'), webhook: url('webhook') },
    defaultEnabled: true,
    steps: false,
    queueSize: 10,
    maxAttempts: 3,
    timeoutMs: 1000,
    backoff: { initialMs: 10, maxMs: 100 },
    logger,
    sleep: () => Promise.resolve(),
    metrics: {
      result: (r, k, res) => metrics.push(`${r} ${k} ${res}`),
      request: (r, code) => metrics.push(`${r} request ${code}`),
      depth: () => undefined,
    },
    post: (u, body, contentType) => {
      sent.push({ url: u, body: JSON.parse(body) as unknown, contentType });
      return Promise.resolve(answer());
    },
    ...o,
  });
  return { n, sent, logger, metrics };
}

function rollout(status: RolloutStatus): RolloutObject {
  return {
    metadata: { name: 'podinfo', namespace: 'test', uid: 'uid-1' },
    spec: {},
    status,
  };
}

const SPEC = {
  primary: { name: 'podinfo', host: 'podinfo' },
  canary: { name: 'podinfo-canary', host: 'podinfo-canary' },
} as RolloutSpec;

function spec(notifications?: NotificationsSpec): RolloutSpec {
  return { ...SPEC, ...(notifications ? { notifications } : {}) };
}

const IDLE: RolloutStatus = { phase: 'Succeeded', canaryRevision: 'a', lastPromotedRevision: 'a' };
const STARTED: RolloutStatus = {
  phase: 'Progressing',
  canaryRevision: 'b',
  lastPromotedRevision: 'a',
  startTime: '2026-01-01T00:00:00.000Z',
  canaryWeight: 10,
  lastStepTime: '2026-01-01T00:00:00.000Z',
};

function receiversOf(sent: readonly Sent[]): string[] {
  return sent.map((s) => s.url.slice(SECRET_URL.length + 1)).sort();
}

describe('notifier', () => {
  it('sends each notice to every receiver, in its shape; steps are off by default', async () => {
    const { n, sent } = setup();
    n.notify(rollout(IDLE), STARTED, spec(), 0);
    await n.idle();
    expect(receiversOf(sent)).toEqual(['slack', 'teams', 'webhook']);
    const slack = sent.find((s) => s.url.endsWith('/slack'));
    expect(slack?.body).toMatchObject({
      text: expect.stringContaining('Release started: podinfo.test'),
    });
    const webhook = sent.find((s) => s.url.endsWith('/webhook'));
    expect(webhook?.contentType).toMatch(/^application\/cloudevents\+json/);
    expect(webhook?.body).toMatchObject({ type: 'io.steerer.rollout.started' });
  });

  it('sends the same decision once (dedupe by rollout, revision, kind)', async () => {
    const { n, sent } = setup();
    n.notify(rollout(IDLE), STARTED, spec(), 0);
    n.notify(rollout(IDLE), STARTED, spec(), 5);
    await n.idle();
    expect(sent).toHaveLength(3);
  });

  it('follows spec.notifications: off, some receivers, steps', async () => {
    const off = setup();
    off.n.notify(rollout(IDLE), STARTED, spec({ enabled: false }), 0);
    await off.n.idle();
    expect(off.sent).toEqual([]);

    const some = setup();
    some.n.notify(rollout(IDLE), STARTED, spec({ receivers: ['teams'], steps: true }), 0);
    await some.n.idle();
    expect(receiversOf(some.sent)).toEqual(['teams', 'teams']);
    expect(
      some.sent.map(
        (s) =>
          (s.body as { attachments: { content: { body: { text?: string }[] } }[] }).attachments[0]
            ?.content.body[0]?.text,
      ),
    ).toEqual(['Release started: podinfo.test', 'Release advanced: podinfo.test at 10%']);
  });

  it('notifies only Rollouts that opt in when the controller does not by default', async () => {
    const { n, sent } = setup({ defaultEnabled: false });
    n.notify(rollout(IDLE), STARTED, spec(), 0);
    const other = {
      ...rollout(IDLE),
      metadata: { name: 'other', namespace: 'test', uid: 'uid-2' },
    };
    n.notify(other, STARTED, spec({ enabled: true, receivers: ['slack'] }), 0);
    await n.idle();
    expect(sent.map((s) => (s.body as { text: string }).text)).toEqual([
      'Release started: other.test: new revision b of podinfo-canary.test',
    ]);
  });

  it('a hanging receiver holds up neither the caller nor the other receivers', async () => {
    const sent: string[] = [];
    const depth = new Map<string, number>();
    const n = new Notifier({
      receivers: {
        slack: () => Promise.resolve(`${SECRET_URL}/slack`),
        teams: () => Promise.resolve(`${SECRET_URL}/teams`),
      },
      defaultEnabled: true,
      steps: true,
      queueSize: 500,
      maxAttempts: 3,
      timeoutMs: 1000,
      backoff: { initialMs: 10, maxMs: 100 },
      logger: new MemoryLogger(),
      metrics: {
        result: () => undefined,
        request: () => undefined,
        depth: (r, d) => depth.set(r, Math.max(depth.get(r) ?? 0, d)),
      },
      // Teams never answers (until close() cuts it off); Slack answers at once.
      post: (u, _body, _type, _timeout, signal) =>
        u.endsWith('/teams')
          ? new Promise((resolve) =>
              signal.addEventListener('abort', () =>
                resolve({ ok: false, retry: false, code: 'aborted', error: 'stopped' }),
              ),
            )
          : (sent.push(u), Promise.resolve({ ok: true, code: '200' })),
    });
    const began = performance.now();
    for (let i = 0; i < 200; i++) {
      const r = {
        ...rollout(IDLE),
        metadata: { name: `app-${i}`, namespace: 'test', uid: `u${i}` },
      };
      n.notify(r, STARTED, spec(), 0);
    }
    expect(performance.now() - began).toBeLessThan(1000);
    await waitUntil(() => sent.length === 400);
    // Slack got every start and step; Teams holds one in flight, the rest wait.
    expect(depth.get('teams')).toBe(399);
    await n.close(10);
  });

  it('without receivers, does nothing at all', async () => {
    const { n, sent } = setup({ receivers: {} });
    n.notify(rollout(IDLE), STARTED, spec(), 0);
    await n.idle();
    expect(sent).toEqual([]);
    expect(n.receivers).toEqual([]);
  });

  it('counts attempts and results; a failing receiver is retried a bounded number of times, and its URL is never logged', async () => {
    const { n, metrics, logger } = setup(
      { receivers: { slack: () => Promise.resolve(SECRET_URL) } },
      () => ({
        ok: false,
        retry: true,
        code: '500',
        error: 'HTTP 500',
      }),
    );
    n.notify(rollout(IDLE), STARTED, spec(), 0);
    await n.idle();
    expect(metrics).toEqual([
      'slack request 500',
      'slack request 500',
      'slack request 500',
      'slack started failed',
    ]);
    const warned = logger.entries.find((e) => e.message === 'notification not delivered');
    expect(warned?.fields).toMatchObject({
      receiver: 'slack',
      kind: 'started',
      attempts: 3,
      error: 'HTTP 500',
    });
    expect(JSON.stringify(logger.entries)).not.toContain('s3cr3t');
    expect(JSON.stringify(logger.entries)).not.toContain('hooks.example.com');
  });
});

async function waitUntil(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('receiver URLs from files (the mounted Secret)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steerer-notify-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('configures the receivers whose file holds something; reads the URL at each use', async () => {
    writeFileSync(join(dir, 'slack'), `${SECRET_URL}\n`);
    writeFileSync(join(dir, 'teams'), '');
    writeFileSync(join(dir, 'webhook'), 'not a url');
    const r = receiversIn(dir);
    expect(Object.keys(r).sort()).toEqual(['slack', 'webhook']);
    expect(await r.slack?.()).toBe(SECRET_URL);
    expect(await r.webhook?.()).toBeUndefined();
    writeFileSync(join(dir, 'slack'), 'https://rotated.example.com/x');
    expect(await r.slack?.()).toBe('https://rotated.example.com/x');
    expect(receiversIn(undefined)).toEqual({});
    expect(receiversIn(join(dir, 'missing'))).toEqual({});
  });
});

describe('postJson, over real HTTP', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<Socket>();
  const seen: { headers: IncomingMessage['headers']; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        const status = Number(req.url?.slice(1));
        if (req.url === '/hang') return;
        res.writeHead(Number.isFinite(status) ? status : 200).end('ok');
      });
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const signal = new AbortController().signal;

  it('posts the body with its content type; 2xx is delivered', async () => {
    const a = await postJson(
      `${base}/204`,
      '{"a":1}',
      'application/cloudevents+json',
      1000,
      signal,
    );
    expect(a).toEqual({ ok: true, code: '204' });
    expect(seen.at(-1)?.headers['content-type']).toBe('application/cloudevents+json');
    expect(seen.at(-1)?.body).toBe('{"a":1}');
  });

  it('classifies failures for retry: 5xx, 429 and timeouts retry; other 4xx do not', async () => {
    expect(await postJson(`${base}/500`, '{}', 'application/json', 1000, signal)).toEqual({
      ok: false,
      retry: true,
      code: '500',
      error: 'HTTP 500',
    });
    expect(await postJson(`${base}/429`, '{}', 'application/json', 1000, signal)).toMatchObject({
      retry: true,
    });
    expect(await postJson(`${base}/400`, '{}', 'application/json', 1000, signal)).toMatchObject({
      retry: false,
      code: '400',
    });
    expect(await postJson(`${base}/hang`, '{}', 'application/json', 200, signal)).toEqual({
      ok: false,
      retry: true,
      code: 'timeout',
      error: 'no answer within 200ms',
    });
  });

  it('a refused connection is a network error naming no URL', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const a = await postJson(
      `http://127.0.0.1:${port}/secret-path`,
      '{}',
      'application/json',
      1000,
      signal,
    );
    expect(a).toMatchObject({ ok: false, retry: true, code: 'network' });
    expect(JSON.stringify(a)).not.toContain('secret-path');
    expect(JSON.stringify(a)).not.toContain(String(port));
  });
});
