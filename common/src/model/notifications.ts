// spec.notifications: a Rollout's say in the chat and webhook notifications the controller
// sends (the receivers themselves, and their secret URLs, are the controller's: chart values
// and a Secret). Every field is optional; unset ones take the controller's defaults.

import type { Checker, Json } from './checker.js';
import { describe } from './checker.js';
import { isJsonMap } from './json.js';

/** The receivers a controller can be configured with (keys of its Secret). */
export const NOTIFICATION_RECEIVERS = ['slack', 'teams', 'webhook'] as const;
export type NotificationReceiver = (typeof NOTIFICATION_RECEIVERS)[number];

export interface NotificationsSpec {
  /** Notify about this Rollout at all (default: the controller's --notify-by-default). */
  enabled?: boolean;
  /** Only these of the controller's receivers (default: all it has). */
  receivers?: NotificationReceiver[];
  /** Also notify at every weight step (default: the controller's --notify-steps, false). */
  steps?: boolean;
}

function isReceiver(v: unknown): v is NotificationReceiver {
  return NOTIFICATION_RECEIVERS.some((r) => r === v);
}

/** spec.notifications, validated; undefined when absent (or invalid: the errors say why). */
export function notificationsBlock(c: Checker, input: Json): NotificationsSpec | undefined {
  const raw = input.notifications;
  if (raw === undefined) return undefined;
  const path = 'spec.notifications';
  if (!isJsonMap(raw)) return c.fail(path, `must be an object, got ${describe(raw)}`);
  const enabled = c.optionalBoolean(raw, 'enabled', `${path}.enabled`);
  const steps = c.optionalBoolean(raw, 'steps', `${path}.steps`);
  const receivers = receiverList(c, raw.receivers, `${path}.receivers`);
  return {
    ...(enabled !== undefined ? { enabled } : {}),
    ...(receivers !== undefined ? { receivers } : {}),
    ...(steps !== undefined ? { steps } : {}),
  };
}

function receiverList(c: Checker, v: unknown, path: string): NotificationReceiver[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) return c.fail(path, `must be a list, got ${describe(v)}`);
  const out: NotificationReceiver[] = [];
  v.forEach((r: unknown, i) => {
    if (!isReceiver(r))
      c.fail(
        `${path}[${i}]`,
        `must be one of ${NOTIFICATION_RECEIVERS.join(', ')}, got ${describe(r)}`,
      );
    else if (out.includes(r)) c.fail(`${path}[${i}]`, `"${r}" is listed twice`);
    else out.push(r);
  });
  return out;
}
