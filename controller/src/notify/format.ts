// A notice shaped for each receiver: a Slack incoming webhook (`text`, plus Block Kit
// `blocks`), a Microsoft Teams Workflows webhook (a message with one Adaptive Card
// attachment) and a generic webhook (a CloudEvents 1.0 event in structured mode). Pure.

import type { NotificationReceiver } from '@steerer/common/model';
import type { Notice, NoticeKind } from './notices.js';

/** What to POST: the body and its content type. */
export interface Payload {
  contentType: string;
  body: unknown;
}

const TITLES: Record<NoticeKind, string> = {
  started: 'Release started',
  step: 'Release advanced',
  halted: 'Release halted',
  'rolled-back': 'Release rolled back',
  'deadline-exceeded': 'Release rolled back: progress deadline exceeded',
  promoted: 'Release promoted',
};

/** Where a person looks at the Rollout: the dashboard's page of it, when one is configured. */
export function rolloutLink(dashboardUrl: string | undefined, n: Notice): string | undefined {
  if (!dashboardUrl) return undefined;
  const base = dashboardUrl.endsWith('/') ? dashboardUrl : `${dashboardUrl}/`;
  return `${base}#/rollouts/${encodeURIComponent(n.namespace)}/${encodeURIComponent(n.name)}`;
}

/** The kubectl command that shows the Rollout, for messages without a dashboard link. */
export function describeCommand(n: Notice): string {
  return `kubectl describe sro/${n.name} -n ${n.namespace}`;
}

/** "Release halted: app.test at 20%: success rate 50.00% < 99%" — the one-line message. */
export function summary(n: Notice): string {
  return `${TITLES[n.kind]}: ${n.name}.${n.namespace}${where(n)}: ${n.reason}`;
}

function where(n: Notice): string {
  return n.kind === 'halted' || n.kind === 'step' ? ` at ${n.weight}%` : '';
}

function details(n: Notice): string {
  return `revision ${n.revision} · phase ${n.phase} · weight ${n.weight}%`;
}

/** Slack's mrkdwn needs only &, < and > escaped. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackPayload(n: Notice, dashboardUrl?: string): Payload {
  const link = rolloutLink(dashboardUrl, n);
  const rollout = slackEscape(`${n.name}.${n.namespace}`);
  const named = link ? `<${link}|${rollout}>` : `*${rollout}*`;
  const context = link ? details(n) : `${details(n)} · \`${describeCommand(n)}\``;
  return {
    contentType: 'application/json',
    body: {
      text: slackEscape(summary(n)),
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: `*${slackEscape(TITLES[n.kind])}*: ${named}${where(n)}\n${slackEscape(n.reason)}`,
          },
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(context) }] },
      ],
    },
  };
}

const TEAMS_COLORS: Record<NoticeKind, string> = {
  started: 'Accent',
  step: 'Default',
  halted: 'Warning',
  'rolled-back': 'Attention',
  'deadline-exceeded': 'Attention',
  promoted: 'Good',
};

export function teamsPayload(n: Notice, dashboardUrl?: string): Payload {
  const link = rolloutLink(dashboardUrl, n);
  const facts = [
    { title: 'Rollout', value: `${n.name}.${n.namespace}` },
    { title: 'Revision', value: n.revision },
    { title: 'Phase', value: n.phase },
    { title: 'Weight', value: `${n.weight}%` },
    ...(link ? [] : [{ title: 'Details', value: describeCommand(n) }]),
  ];
  return {
    contentType: 'application/json',
    body: {
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
                text: `${TITLES[n.kind]}: ${n.name}.${n.namespace}${where(n)}`,
                weight: 'Bolder',
                size: 'Medium',
                color: TEAMS_COLORS[n.kind],
                wrap: true,
              },
              { type: 'TextBlock', text: n.reason, wrap: true },
              { type: 'FactSet', facts },
            ],
            ...(link
              ? { actions: [{ type: 'Action.OpenUrl', title: 'Open the Rollout', url: link }] }
              : {}),
          },
        },
      ],
    },
  };
}

/** The CloudEvents `source` of every event: the controller. */
export const CLOUDEVENTS_SOURCE = 'urn:steerer:controller';
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export function cloudEventType(kind: NoticeKind): string {
  return `io.steerer.rollout.${kind}`;
}

export function cloudEventPayload(n: Notice, dashboardUrl?: string): Payload {
  const link = rolloutLink(dashboardUrl, n);
  return {
    contentType: CLOUDEVENTS_CONTENT_TYPE,
    body: {
      specversion: '1.0',
      id: n.id,
      source: CLOUDEVENTS_SOURCE,
      type: cloudEventType(n.kind),
      subject: `/apis/apps.weave.works/v1beta1/namespaces/${n.namespace}/rollouts/${n.name}`,
      time: n.time,
      datacontenttype: 'application/json',
      data: {
        rollout: { namespace: n.namespace, name: n.name },
        kind: n.kind,
        revision: n.revision,
        phase: n.phase,
        weight: n.weight,
        reason: n.reason,
        message: summary(n),
        ...(n.failureReason ? { failureReason: n.failureReason } : {}),
        ...(n.canary ? { canary: n.canary } : {}),
        ...(n.primary ? { primary: n.primary } : {}),
        ...(link ? { url: link } : {}),
      },
    },
  };
}

export function payloadFor(
  receiver: NotificationReceiver,
  n: Notice,
  dashboardUrl?: string,
): Payload {
  switch (receiver) {
    case 'slack':
      return slackPayload(n, dashboardUrl);
    case 'teams':
      return teamsPayload(n, dashboardUrl);
    case 'webhook':
      return cloudEventPayload(n, dashboardUrl);
  }
}
