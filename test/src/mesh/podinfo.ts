// What a destination workload answers, podinfo-style, decided purely from the Deployment
// and the request path. Timing (fault latency, /delay) is the gateway's job; this only
// says how long to wait.

import type { Deployment } from './model.js';
import { safeEncode } from './parse.js';

export const MAX_DELAY_SECONDS = 30;
const PODINFO_DEFAULT_COLOR = '#34577c';

export interface WorkloadReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** How long the workload takes before answering (from /delay/{seconds}). */
  readonly delayMs: number;
}

/** The tag of an image reference: `quay.io/x/podinfo:1.2.0` → `1.2.0`; none → `latest`. */
export function imageTag(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  if (lastColon > lastSlash) return withoutDigest.slice(lastColon + 1);
  return image.includes('@') ? (image.split('@')[1] ?? 'latest') : 'latest';
}

/** A stable fake pod name: `<deployment>-<template hash>-<5 chars per replica>`. */
export function podName(d: Deployment, replica: number): string {
  return `${d.name}-${d.templateHash}-${safeEncode(`${d.templateHash}/${replica}`, 5)}`;
}

function json(status: number, value: unknown, delayMs = 0): WorkloadReply {
  return {
    status,
    contentType: 'application/json; charset=utf-8',
    body: JSON.stringify(value),
    delayMs,
  };
}

export function faultReply(code: number): WorkloadReply {
  return json(code, { code, message: 'fault injected by mesh simulator' });
}

export function podinfoReply(d: Deployment, replica: number, path: string): WorkloadReply {
  const version = imageTag(d.image);
  if (path === '/' || path === '') {
    return json(200, {
      hostname: podName(d, replica),
      version,
      revision: '',
      color: d.env['PODINFO_UI_COLOR'] ?? PODINFO_DEFAULT_COLOR,
      message: d.env['PODINFO_UI_MESSAGE'] ?? `greetings from podinfo v${version}`,
      goos: 'linux',
      goarch: 'amd64',
    });
  }
  if (path === '/healthz' || path === '/readyz') return json(200, { status: 'OK' });
  if (path === '/version') return json(200, { commit: '', version });
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status) {
    const code = Number(status[1]);
    return code >= 100 && code <= 599
      ? json(code, { status: code })
      : json(400, { code: 400, message: 'invalid status code' });
  }
  const delay = /^\/delay\/(\d+(?:\.\d+)?)$/.exec(path);
  if (delay) {
    const seconds = Math.min(MAX_DELAY_SECONDS, Number(delay[1]));
    return json(200, { delay: seconds }, seconds * 1000);
  }
  return {
    status: 404,
    contentType: 'text/plain; charset=utf-8',
    body: '404 page not found\n',
    delayMs: 0,
  };
}
