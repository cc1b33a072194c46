// Notifications on the real cluster, to a real HTTP receiver standing in for Slack, Teams
// and a CloudEvents webhook: a release that is promoted while the webhook answers 500
// (bounded retries, counted in /metrics); then a release that starts, halts (500s injected
// through the mesh simulator) and is rolled back, with a controller restart in between
// (start is not sent again). Each notice arrives once per receiver, in that receiver's
// shape. The rollback comes last: its errors stay in the canary's metrics for a window.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Receiver } from '../receiver/receiver.js';
import type { RecordedRequest } from '../receiver/receiver.js';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import {
  applyYaml,
  deleteNamespace,
  freePort,
  installCrd,
  rolloutStatus,
  setFault,
  setLoad,
  startController,
  waitAvailable,
  waitFor,
} from './harness.js';
import type { SteererProcess } from './harness.js';

const NS = 'notify';
const APP: AppOptions = {
  namespace: NS,
  name: 'app',
  image: 'quay.io/stefanprodan/podinfo:1.0.0',
  replicas: 1,
  stepWeight: 50,
  interval: '10s',
};
const DASHBOARD = 'http://127.0.0.1:7070/';
const ATTEMPTS = 3;

/** The seed-shaped Rollout plus a quick rollback rule and explicit notification settings. */
function rollout(): string {
  return `${rolloutManifest(APP)}  rollback:
    failureDuration: 4s
  notifications:
    receivers: [slack, teams, webhook]
`;
}

interface Seen {
  receiver: 'slack' | 'teams' | 'webhook';
  /** started, halted, rolled-back, promoted, … as each shape tells it. */
  kind: string;
  /** The Rollout's revision the message is about. */
  revision: string;
  request: RecordedRequest;
}

const SLACK_TITLES: Record<string, string> = {
  'Release started': 'started',
  'Release advanced': 'step',
  'Release halted': 'halted',
  'Release rolled back': 'rolled-back',
  'Release rolled back: progress deadline exceeded': 'deadline-exceeded',
  'Release promoted': 'promoted',
};

interface SlackBody {
  text: string;
  blocks: {
    type: string;
    text?: { type: string; text: string };
    elements?: { type: string; text: string }[];
  }[];
}
interface TeamsBody {
  type: string;
  attachments: {
    contentType: string;
    contentUrl: null;
    content: {
      type: string;
      version: string;
      body: { type: string; text?: string; facts?: { title: string; value: string }[] }[];
      actions?: { type: string; url: string }[];
    };
  }[];
}
interface CloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: string;
  data: { kind: string; revision: string; reason: string; url?: string };
}

/** Reads a recorded request as the shape its path stands for, asserting the shape. */
function read(r: RecordedRequest): Seen {
  expect(r.method).toBe('POST');
  if (r.path === '/slack') {
    const b = r.json as SlackBody;
    expect(r.headers['content-type']).toBe('application/json');
    expect(typeof b.text).toBe('string');
    expect(b.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    expect(b.blocks[1]).toMatchObject({ type: 'context', elements: [{ type: 'mrkdwn' }] });
    // The link goes to the dashboard's page of the Rollout.
    expect(b.blocks[0]?.text?.text).toContain(`<${DASHBOARD}#/rollouts/${NS}/app|app.${NS}>`);
    const title = /^\*([^*]+)\*/.exec(b.blocks[0]?.text?.text ?? '')?.[1] ?? '';
    const revision = /revision (\S+) ·/.exec(b.blocks[1]?.elements?.[0]?.text ?? '')?.[1] ?? '';
    return { receiver: 'slack', kind: SLACK_TITLES[title] ?? title, revision, request: r };
  }
  if (r.path === '/teams') {
    const b = r.json as TeamsBody;
    expect(b.type).toBe('message');
    expect(b.attachments).toHaveLength(1);
    const a = b.attachments[0];
    expect(a?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(a?.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(a?.content.actions?.[0]).toMatchObject({
      type: 'Action.OpenUrl',
      url: `${DASHBOARD}#/rollouts/${NS}/app`,
    });
    const heading = a?.content.body[0]?.text ?? '';
    const title = heading.slice(0, heading.lastIndexOf(': app.'));
    const facts = a?.content.body.find((x) => x.type === 'FactSet')?.facts ?? [];
    const revision = facts.find((f) => f.title === 'Revision')?.value ?? '';
    return { receiver: 'teams', kind: SLACK_TITLES[title] ?? title, revision, request: r };
  }
  expect(r.path).toBe('/webhook');
  expect(r.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
  const e = r.json as CloudEvent;
  expect(e).toMatchObject({
    specversion: '1.0',
    source: 'urn:steerer:controller',
    subject: `/apis/apps.weave.works/v1beta1/namespaces/${NS}/rollouts/app`,
    datacontenttype: 'application/json',
  });
  expect(e.type).toBe(`io.steerer.rollout.${e.data.kind}`);
  expect(new Date(e.time).toISOString()).toBe(e.time);
  return { receiver: 'webhook', kind: e.data.kind, revision: e.data.revision, request: r };
}

/** What each receiver got about one revision: "receiver kind" lines, sorted. */
function about(receiver: Receiver, revision: string, only?: Seen['receiver']): string[] {
  return receiver
    .requests()
    .map(read)
    .filter((s) => s.revision === revision && (!only || s.receiver === only))
    .map((s) => `${s.receiver} ${s.kind}`)
    .sort();
}

function each(
  kinds: string[],
  receivers: Seen['receiver'][] = ['slack', 'teams', 'webhook'],
): string[] {
  return receivers.flatMap((r) => kinds.map((k) => `${r} ${k}`)).sort();
}

async function metric(port: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const found = text.split('\n').find((l) => line.test(l));
  return found ? Number(found.split(' ').at(-1)) : 0;
}

describe('notifications', () => {
  let receiver: Receiver;
  let dir: string;
  let controller: SteererProcess | undefined;
  let metricsPort = 0;
  const started = Date.now();

  async function startSteerer(): Promise<void> {
    metricsPort = await freePort();
    controller = startController([
      '--control-loop-interval=2s',
      '--analysis-interval=1s',
      '--route-settle-time=2s',
      `--namespace=${NS}`,
      `--listen-address=127.0.0.1:${metricsPort}`,
      `--notifications-dir=${dir}`,
      `--dashboard-url=${DASHBOARD}`,
      `--notify-attempts=${ATTEMPTS}`,
      '--notify-backoff=200ms',
      '--notify-timeout=2s',
    ]);
    await waitFor(
      'the controller to serve /metrics',
      async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok,
      30_000,
      200,
    );
  }

  async function status(): ReturnType<typeof rolloutStatus> {
    return rolloutStatus(NS, 'app');
  }

  /** Ships a canary image; resolves to the new revision once the release has started. */
  async function ship(tag: string): Promise<string> {
    const before = (await status()).canaryRevision;
    await applyYaml(canaryDeployment(APP, `quay.io/stefanprodan/podinfo:${tag}`));
    return waitFor(
      `a release of ${tag}`,
      async () => {
        const s = await status();
        return s.canaryRevision !== before && s.phase === 'Progressing' && s.canaryRevision;
      },
      60_000,
      200,
    );
  }

  beforeAll(async () => {
    receiver = await Receiver.start();
    dir = mkdtempSync(join(tmpdir(), 'steerer-notify-e2e-'));
    for (const r of ['slack', 'teams', 'webhook'])
      writeFileSync(join(dir, r), receiver.url(`/${r}`));
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    await applyYaml(appManifests(APP));
    await waitAvailable(NS, ['app', 'app-canary']);
    await applyYaml(rollout());
    await setLoad(NS, 'app', 40);
    await startSteerer();
    await waitFor(
      'phase Initialized',
      async () => (await status()).phase === 'Initialized',
      60_000,
      200,
    );
  });

  afterAll(async () => {
    await controller?.stop();
    await setLoad(NS, 'app', 0).catch(() => undefined);
    await setFault(NS, 'app-canary', null).catch(() => undefined);
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`notifications e2e: ${((Date.now() - started) / 1000).toFixed(0)}s in all`);
  });

  it('a promoted release while the webhook answers 500: Slack and Teams get start and promotion once; the webhook is retried a bounded number of times and counted', async () => {
    const t0 = Date.now();
    receiver.setBehaviour('/webhook', { kind: 'fail', status: 500 });
    const failedBefore = await metric(
      metricsPort,
      /^steerer_notifications_total\{receiver="webhook",kind="started",result="failed"\}/,
    );
    const revision = await ship('1.2.0');
    await waitFor(
      'phase Succeeded',
      async () => (await status()).phase === 'Succeeded',
      120_000,
      200,
    );
    await receiver.waitFor(
      () => about(receiver, revision).filter((l) => !l.startsWith('webhook')).length >= 4,
      30_000,
      'start and promotion on Slack and Teams',
    );
    expect(about(receiver, revision).filter((l) => !l.startsWith('webhook'))).toEqual(
      each(['promoted', 'started'], ['slack', 'teams']),
    );
    // Every notice to the failing webhook: exactly ATTEMPTS tries, all with one CloudEvents id.
    await waitFor(
      'the webhook failures counted',
      async () =>
        (await metric(
          metricsPort,
          /^steerer_notifications_total\{receiver="webhook",kind="promoted",result="failed"\}/,
        )) >= 1,
      30_000,
      200,
    );
    const tries = new Map<string, number>();
    for (const r of receiver.requests('/webhook')) {
      const e = r.json as CloudEvent;
      if (e.data.revision === revision) tries.set(e.id, (tries.get(e.id) ?? 0) + 1);
    }
    expect([...tries.values()]).toEqual([ATTEMPTS, ATTEMPTS]);
    expect(
      await metric(
        metricsPort,
        /^steerer_notifications_total\{receiver="webhook",kind="started",result="failed"\}/,
      ),
    ).toBe(failedBefore + 1);
    expect(
      await metric(
        metricsPort,
        /^steerer_notification_requests_total\{receiver="webhook",code="500"\}/,
      ),
    ).toBeGreaterThanOrEqual(2 * ATTEMPTS);
    expect(
      await metric(
        metricsPort,
        /^steerer_notifications_total\{receiver="slack",kind="promoted",result="delivered"\}/,
      ),
    ).toBe(1);
    // The receivers' URLs are secrets: not in the controller's log, not in /metrics.
    const metricsText = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metricsText).not.toContain(receiver.baseUrl);
    expect(controller?.output()).not.toContain(receiver.baseUrl);
    receiver.setBehaviour('/webhook', { kind: 'ok' });
    console.log(
      `notifications e2e (promotion): ${((Date.now() - t0) / 1000).toFixed(1)}s from ship to Succeeded and every message`,
    );
  });

  it('a release that halts and is rolled back: start, halt, rollback, once each — start not re-sent after a restart', async () => {
    const t0 = Date.now();
    const revision = await ship('1.1.0');
    await receiver.waitFor(
      () => about(receiver, revision).length === 3,
      30_000,
      'the start on every receiver',
    );
    // A restart: the new controller plans from the status already written.
    await controller?.stop();
    await startSteerer();
    await waitFor('weight 50', async () => ((await status()).canaryWeight ?? 0) >= 50, 60_000, 200);
    await setFault(NS, 'app-canary', { errorRatio: 1 });
    await waitFor('phase Failed', async () => (await status()).phase === 'Failed', 90_000, 200);
    await setFault(NS, 'app-canary', null);
    await receiver.waitFor(
      () => about(receiver, revision).length >= 9,
      30_000,
      'halt and rollback on every receiver',
    );
    expect(about(receiver, revision)).toEqual(each(['started', 'halted', 'rolled-back']));
    // The why: the failing check, and the rollback rule.
    const events = receiver.requests('/webhook').map((r) => r.json as CloudEvent);
    const halted = events.find((e) => e.data.revision === revision && e.data.kind === 'halted');
    expect(halted?.data.reason).toMatch(/^success rate \d+(\.\d+)?% < 99%$/);
    const back = events.find((e) => e.data.revision === revision && e.data.kind === 'rolled-back');
    expect(back?.data.reason).toMatch(/^its checks have failed for \d+s: success rate/);
    console.log(
      `notifications e2e (rollback): ${((Date.now() - t0) / 1000).toFixed(1)}s from ship to Failed and every message`,
    );
  });
});
