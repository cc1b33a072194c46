import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ErrorCode, MemoryLogger, SteererError } from '@steerer/common';
import type { EventObject, PatchType, RolloutObject } from '@steerer/common';
import { EventRecorder, eventFor } from './events.js';
import type { EventWriter } from './events.js';
import { seedRollout } from './planner/testing.js';

type WriterCall =
  | { verb: 'create'; path: string; body: EventObject }
  | { verb: 'patch'; path: string; type: PatchType; body: unknown };

/** Records the recorder's writes; `fail` decides which of them are answered with an error. */
class FakeWriter implements EventWriter {
  readonly calls: WriterCall[] = [];
  fail: (call: WriterCall) => Error | undefined = () => undefined;

  create<T>(path: string, body: unknown): Promise<T> {
    return this.answer<T>({ verb: 'create', path, body: body as EventObject }, body);
  }

  patch<T>(path: string, type: PatchType, body: unknown): Promise<T> {
    return this.answer<T>({ verb: 'patch', path, type, body }, body);
  }

  get created(): EventObject[] {
    return this.calls.flatMap((c) => (c.verb === 'create' ? [c.body] : []));
  }

  private answer<T>(call: WriterCall, body: unknown): Promise<T> {
    this.calls.push(call);
    const error = this.fail(call);
    return error ? Promise.reject(error) : Promise.resolve(body as T);
  }
}

const T0 = Date.parse('2026-01-01T00:00:00.789Z');
const EVENTS = '/api/v1/namespaces/test/events';

function apiError(status: number): SteererError {
  return new SteererError(ErrorCode.Api, `answered ${status}`, { status });
}

let writer: FakeWriter;
let logger: MemoryLogger;
let recorded: ('Normal' | 'Warning')[];
let recorder: EventRecorder;
let rollout: RolloutObject;

beforeEach(() => {
  // Only the clock is faked: promises and I/O run as usual.
  jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  writer = new FakeWriter();
  logger = new MemoryLogger();
  recorded = [];
  recorder = new EventRecorder(writer, logger, (type) => recorded.push(type));
  rollout = seedRollout();
});

afterEach(() => {
  jest.useRealTimers();
});

function at(offsetMs: number): void {
  jest.setSystemTime(T0 + offsetMs);
}

function nameOf(call: WriterCall | undefined): string {
  if (call?.verb !== 'create') throw new Error(`expected a create, got ${JSON.stringify(call)}`);
  return call.body.metadata.name;
}

describe('EventRecorder', () => {
  it('creates a core/v1 Event on the Rollout for a first message', async () => {
    await recorder.record(rollout, 'Normal', 'Starting rollout for podinfo.test');
    expect(writer.calls).toHaveLength(1);
    const [call] = writer.calls;
    expect(call).toMatchObject({ verb: 'create', path: EVENTS });
    expect(call?.body).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: expect.stringMatching(/^podinfo\.[0-9a-f]+$/), namespace: 'test' },
      involvedObject: {
        apiVersion: 'apps.weave.works/v1beta1',
        kind: 'Rollout',
        name: 'podinfo',
        namespace: 'test',
        uid: 'u1',
        resourceVersion: '1',
      },
      reason: 'Synced',
      message: 'Starting rollout for podinfo.test',
      type: 'Normal',
      source: { component: 'steerer' },
      count: 1,
      // Whole seconds, as metav1.Time is written.
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:00:00Z',
      reportingComponent: 'steerer',
      reportingInstance: hostname(),
    });
    expect(logger.entries).toEqual([]);
  });

  it('counts the same message again on the same Event instead of creating one', async () => {
    const halt = 'Halt rollout podinfo.test success rate 88.89% < 99%';
    await recorder.record(rollout, 'Warning', halt);
    at(30_400);
    await recorder.record(rollout, 'Warning', halt);
    at(61_000);
    await recorder.record(rollout, 'Warning', halt);
    const name = nameOf(writer.calls[0]);
    expect(writer.calls.slice(1)).toEqual([
      {
        verb: 'patch',
        path: `${EVENTS}/${name}`,
        type: 'merge',
        body: { count: 2, lastTimestamp: '2026-01-01T00:00:31Z' },
      },
      {
        verb: 'patch',
        path: `${EVENTS}/${name}`,
        type: 'merge',
        body: { count: 3, lastTimestamp: '2026-01-01T00:01:01Z' },
      },
    ]);
  });

  it('starts a new Event for a message in between, so the log reads in order', async () => {
    await recorder.record(rollout, 'Warning', 'A');
    await recorder.record(rollout, 'Normal', 'B');
    await recorder.record(rollout, 'Warning', 'A');
    await recorder.record(rollout, 'Warning', 'A');
    expect(writer.calls.map((c) => c.verb)).toEqual(['create', 'create', 'create', 'patch']);
    expect(writer.created.map((e) => `${e.type} ${e.message} x${e.count}`)).toEqual([
      'Warning A x1',
      'Normal B x1',
      'Warning A x1',
    ]);
    const names = writer.created.map((e) => e.metadata.name);
    expect(new Set(names).size).toBe(3);
    expect(writer.calls[3]).toMatchObject({ path: `${EVENTS}/${names[2]}`, body: { count: 2 } });
  });

  it('tells types apart: the same message as Normal and as Warning is two Events', async () => {
    await recorder.record(rollout, 'Normal', 'same words');
    await recorder.record(rollout, 'Warning', 'same words');
    expect(writer.calls.map((c) => c.verb)).toEqual(['create', 'create']);
  });

  it("keeps each Rollout's previous message apart", async () => {
    const other: RolloutObject = {
      ...rollout,
      metadata: { ...rollout.metadata, name: 'api', uid: 'u2' },
    };
    await recorder.record(rollout, 'Warning', 'A');
    await recorder.record(other, 'Warning', 'A');
    await recorder.record(rollout, 'Warning', 'A');
    expect(writer.calls.map((c) => c.verb)).toEqual(['create', 'create', 'patch']);
    expect(writer.calls[2]?.path).toBe(`${EVENTS}/${nameOf(writer.calls[0])}`);
    expect(nameOf(writer.calls[1])).toMatch(/^api\./);
  });

  it('creates a new Event once the previous one is ten minutes old', async () => {
    await recorder.record(rollout, 'Warning', 'A');
    at(10 * 60_000 - 1);
    await recorder.record(rollout, 'Warning', 'A');
    // Ten minutes after the last count (not the first).
    at(2 * 10 * 60_000 - 1);
    await recorder.record(rollout, 'Warning', 'A');
    expect(writer.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'create']);
    expect(writer.created[1]).toMatchObject({ count: 1, firstTimestamp: '2026-01-01T00:20:00Z' });
  });

  it('forgets an Event whose count patch answers 404, and creates the next one afresh', async () => {
    await recorder.record(rollout, 'Warning', 'A');
    writer.fail = (c) => (c.verb === 'patch' ? apiError(404) : undefined);
    await expect(recorder.record(rollout, 'Warning', 'A')).resolves.toBeUndefined();
    writer.fail = () => undefined;
    await recorder.record(rollout, 'Warning', 'A');
    await recorder.record(rollout, 'Warning', 'A');
    expect(writer.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'create', 'patch']);
    const fresh = writer.created[1];
    expect(fresh?.count).toBe(1);
    expect(writer.calls[3]).toMatchObject({
      path: `${EVENTS}/${fresh?.metadata.name}`,
      body: { count: 2 },
    });
    expect(logger.entries.map((e) => `${e.level} ${e.message}`)).toEqual([
      'warn could not record event',
    ]);
  });

  it('keeps counting on the same Event after another failure of the patch', async () => {
    await recorder.record(rollout, 'Warning', 'A');
    writer.fail = (c) => (c.verb === 'patch' ? apiError(500) : undefined);
    await recorder.record(rollout, 'Warning', 'A');
    writer.fail = () => undefined;
    await recorder.record(rollout, 'Warning', 'A');
    expect(writer.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'patch']);
    const name = nameOf(writer.calls[0]);
    expect(writer.calls[2]).toMatchObject({ path: `${EVENTS}/${name}`, body: { count: 3 } });
  });

  it('never throws out of record(): a failed create is logged as a warning and not remembered', async () => {
    writer.fail = () => new Error('connection refused');
    await expect(recorder.record(rollout, 'Normal', 'Starting')).resolves.toBeUndefined();
    expect(logger.entries).toEqual([
      {
        level: 'warn',
        message: 'could not record event',
        fields: {
          rollout: 'podinfo',
          namespace: 'test',
          message: 'Starting',
          error: 'connection refused',
        },
      },
    ]);
    writer.fail = () => undefined;
    await recorder.record(rollout, 'Normal', 'Starting');
    expect(writer.calls.map((c) => c.verb)).toEqual(['create', 'create']);
  });

  it('counts every record by type, written or not', async () => {
    await recorder.record(rollout, 'Normal', 'A');
    await recorder.record(rollout, 'Normal', 'A');
    await recorder.record(rollout, 'Warning', 'B');
    writer.fail = () => apiError(403);
    await recorder.record(rollout, 'Warning', 'C');
    expect(recorded).toEqual(['Normal', 'Normal', 'Warning', 'Warning']);
  });

  it('works without an onRecord callback', async () => {
    const plain = new EventRecorder(writer, logger);
    await plain.record(rollout, 'Normal', 'A');
    expect(writer.created).toHaveLength(1);
  });

  it("names a Rollout's Events so that they sort in creation order", async () => {
    const messages: string[] = [];
    for (let i = 0; i < 40; i++) {
      // Several in the same millisecond, then the clock moves on by hours.
      if (i % 7 === 0) at(i * 3_600_000 + (i % 3));
      messages.push(`message ${i}`);
      await recorder.record(rollout, 'Normal', `message ${i}`);
    }
    const names = writer.created.map((e) => e.metadata.name);
    expect(writer.created.map((e) => e.message)).toEqual(messages);
    expect([...names].sort()).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^podinfo\.[0-9a-f]+$/);
  });
});

describe('eventFor', () => {
  it('names a Rollout without uid, resourceVersion or apiVersion by what it has', () => {
    const r: RolloutObject = {
      metadata: { name: 'podinfo', namespace: 'test' },
      spec: {},
    };
    const e = eventFor(r, 'Warning', 'm', 'podinfo.1', new Date(T0), 'host-1');
    expect(e.involvedObject).toEqual({
      apiVersion: 'apps.weave.works/v1beta1',
      kind: 'Rollout',
      name: 'podinfo',
      namespace: 'test',
    });
    expect(e).toMatchObject({
      metadata: { name: 'podinfo.1', namespace: 'test' },
      type: 'Warning',
      reportingInstance: 'host-1',
      firstTimestamp: '2026-01-01T00:00:00Z',
    });
  });
});
