// Payload shapes against the receivers' documented formats: Slack incoming webhooks (`text`,
// optional Block Kit `blocks`), Teams Workflows webhooks (a `message` whose one attachment is
// an Adaptive Card), CloudEvents 1.0 in structured mode (JSON event format).

import { describe, expect, it } from '@jest/globals';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  cloudEventPayload,
  payloadFor,
  rolloutLink,
  slackEscape,
  slackPayload,
  summary,
  teamsPayload,
} from './format.js';
import type { Notice } from './notices.js';

const HALT: Notice = {
  kind: 'halted',
  id: 'uid-1/5d8f7c/halted/2026-01-01T00:00:20.000Z',
  namespace: 'test',
  name: 'podinfo',
  revision: '5d8f7c',
  phase: 'Halted',
  weight: 20,
  reason: 'success rate 88.46% < 99%',
  time: '2026-01-01T00:01:00.000Z',
  canary: 'podinfo-canary',
  primary: 'podinfo',
};
const DASHBOARD = 'http://127.0.0.1:8001';

describe('the message', () => {
  it('is one line saying what happened, where and why', () => {
    expect(summary(HALT)).toBe('Release halted: podinfo.test at 20%: success rate 88.46% < 99%');
    expect(
      summary({ ...HALT, kind: 'promoted', reason: 'podinfo.test runs revision 5d8f7c' }),
    ).toBe('Release promoted: podinfo.test: podinfo.test runs revision 5d8f7c');
  });

  it("links to the Rollout's dashboard page when a dashboard is configured", () => {
    expect(rolloutLink(DASHBOARD, HALT)).toBe('http://127.0.0.1:8001/#/rollouts/test/podinfo');
    expect(rolloutLink(`${DASHBOARD}/`, HALT)).toBe(
      'http://127.0.0.1:8001/#/rollouts/test/podinfo',
    );
    expect(rolloutLink(undefined, HALT)).toBeUndefined();
  });
});

describe('Slack', () => {
  it('sends text (mrkdwn escaped) and blocks: a section and a context', () => {
    const p = slackPayload(HALT, DASHBOARD);
    expect(p.contentType).toBe('application/json');
    expect(p.body).toEqual({
      text: 'Release halted: podinfo.test at 20%: success rate 88.46% &lt; 99%',
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*Release halted*: <http://127.0.0.1:8001/#/rollouts/test/podinfo|podinfo.test> at 20%\nsuccess rate 88.46% &lt; 99%',
          },
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'revision 5d8f7c · phase Halted · weight 20%' }],
        },
      ],
    });
  });

  it('without a dashboard, names the kubectl command instead of a link', () => {
    const body = slackPayload(HALT).body as { blocks: { elements?: { text: string }[] }[] };
    expect(body.blocks[1]?.elements?.[0]?.text).toContain('`kubectl describe sro/podinfo -n test`');
  });

  it('escapes only &, < and >', () => {
    expect(slackEscape('a < b & c > d *e*')).toBe('a &lt; b &amp; c &gt; d *e*');
  });
});

describe('Teams (Workflows webhook)', () => {
  it('sends a message with one Adaptive Card attachment', () => {
    const p = teamsPayload(HALT, DASHBOARD);
    expect(p.contentType).toBe('application/json');
    expect(p.body).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            msteams: { width: 'Full' },
            body: [
              {
                type: 'TextBlock',
                text: 'Release halted: podinfo.test at 20%',
                weight: 'Bolder',
                size: 'Medium',
                color: 'Warning',
                wrap: true,
              },
              { type: 'TextBlock', text: 'success rate 88.46% < 99%', wrap: true },
              {
                type: 'FactSet',
                facts: [
                  { title: 'Rollout', value: 'podinfo.test' },
                  { title: 'Revision', value: '5d8f7c' },
                  { title: 'Phase', value: 'Halted' },
                  { title: 'Weight', value: '20%' },
                ],
              },
            ],
            actions: [
              {
                type: 'Action.OpenUrl',
                title: 'Open the Rollout',
                url: 'http://127.0.0.1:8001/#/rollouts/test/podinfo',
              },
            ],
          },
        },
      ],
    });
  });

  it('without a dashboard: no action, the kubectl command as a fact', () => {
    const body = teamsPayload(HALT).body as {
      attachments: { content: { actions?: unknown; body: { facts?: unknown[] }[] } }[];
    };
    const card = body.attachments[0]?.content;
    expect(card?.actions).toBeUndefined();
    expect(card?.body[2]?.facts).toContainEqual({
      title: 'Details',
      value: 'kubectl describe sro/podinfo -n test',
    });
  });
});

describe('CloudEvents (generic webhook)', () => {
  it('is a structured-mode CloudEvents 1.0 event with the required and optional attributes', () => {
    const p = cloudEventPayload(
      {
        ...HALT,
        kind: 'rolled-back',
        phase: 'RollingBack',
        weight: 0,
        failureReason: 'RolledBack',
      },
      DASHBOARD,
    );
    expect(p.contentType).toBe(CLOUDEVENTS_CONTENT_TYPE);
    expect(p.contentType.startsWith('application/cloudevents+json')).toBe(true);
    expect(p.body).toEqual({
      specversion: '1.0',
      id: HALT.id,
      source: 'urn:steerer:controller',
      type: 'io.steerer.rollout.rolled-back',
      subject: '/apis/apps.weave.works/v1beta1/namespaces/test/rollouts/podinfo',
      time: '2026-01-01T00:01:00.000Z',
      datacontenttype: 'application/json',
      data: {
        rollout: { namespace: 'test', name: 'podinfo' },
        kind: 'rolled-back',
        revision: '5d8f7c',
        phase: 'RollingBack',
        weight: 0,
        reason: 'success rate 88.46% < 99%',
        message: 'Release rolled back: podinfo.test: success rate 88.46% < 99%',
        failureReason: 'RolledBack',
        canary: 'podinfo-canary',
        primary: 'podinfo',
        url: 'http://127.0.0.1:8001/#/rollouts/test/podinfo',
      },
    });
  });

  it('keeps required attributes non-empty strings, and time RFC 3339', () => {
    const body = cloudEventPayload(HALT).body as Record<string, unknown>;
    for (const k of ['specversion', 'id', 'source', 'type']) {
      expect(typeof body[k]).toBe('string');
      expect(body[k]).not.toBe('');
    }
    expect(new Date(body.time as string).toISOString()).toBe(body.time);
    expect((body.data as Record<string, unknown>).url).toBeUndefined();
  });
});

it('payloadFor picks the shape by receiver', () => {
  expect((payloadFor('slack', HALT).body as { text: string }).text).toContain('Release halted');
  expect((payloadFor('teams', HALT).body as { type: string }).type).toBe('message');
  expect((payloadFor('webhook', HALT).body as { specversion: string }).specversion).toBe('1.0');
});
