import { describe, expect, it } from '@jest/globals';
import { faultReply, imageTag, MAX_DELAY_SECONDS, podinfoReply, podName } from './podinfo.js';
import { deploy } from './test-objects.js';

describe('imageTag', () => {
  it.each([
    ['quay.io/stefanprodan/podinfo:1.2.0', '1.2.0'],
    ['localhost:5000/podinfo', 'latest'],
    ['localhost:5000/podinfo:6.0.0', '6.0.0'],
    ['podinfo', 'latest'],
    ['podinfo:1.0@sha256:abc', '1.0'],
    ['podinfo@sha256:abc', 'sha256:abc'],
  ])('%s → %s', (image, tag) => {
    expect(imageTag(image)).toBe(tag);
  });
});

describe('podinfoReply', () => {
  const canary = deploy('podinfo-canary', {
    image: 'quay.io/stefanprodan/podinfo:1.2.0',
    color: 'green',
  });

  it('answers / like podinfo, with a stable fake pod name', () => {
    const reply = podinfoReply(canary, 0, '/');
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      hostname: podName(canary, 0),
      version: '1.2.0',
      color: 'green',
      message: 'greetings from podinfo v1.2.0',
    });
    expect(body['hostname']).toMatch(/^podinfo-canary-[a-z0-9]{10}-[a-z0-9]{5}$/);
    expect(podName(canary, 1)).not.toBe(podName(canary, 0));
  });

  it('uses podinfo default color without PODINFO_UI_COLOR', () => {
    expect(JSON.parse(podinfoReply(deploy('x'), 0, '/').body)).toMatchObject({ color: '#34577c' });
  });

  it.each([
    ['/healthz', 200],
    ['/readyz', 200],
    ['/version', 200],
    ['/status/503', 503],
    ['/status/201', 201],
    ['/status/999', 400],
    ['/unknown', 404],
  ])('%s → %d', (path, status) => {
    const reply = podinfoReply(canary, 0, path);
    expect(reply.status).toBe(status);
    expect(reply.delayMs).toBe(0);
  });

  it('delays /delay/{seconds}, capped', () => {
    expect(podinfoReply(canary, 0, '/delay/2').delayMs).toBe(2000);
    expect(podinfoReply(canary, 0, '/delay/0.5').delayMs).toBe(500);
    expect(podinfoReply(canary, 0, '/delay/3600').delayMs).toBe(MAX_DELAY_SECONDS * 1000);
  });

  it('builds fault replies with the configured code', () => {
    expect(faultReply(503).status).toBe(503);
  });
});
