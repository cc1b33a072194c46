import { describe, expect, it } from '@jest/globals';
import type { RolloutObject } from '@steerer/common';
import { CliError } from './errors.js';
import { ANSI } from './render.js';
import { FakeKube, event, memoryIo, rollout } from './testing.js';
import type { MemoryIo } from './testing.js';
import { watchCommand } from './watch.js';

const at = (phase: string, weight: number, message: string): RolloutObject =>
  rollout('podinfo', { phase: phase as 'Progressing', canaryWeight: weight, message });

/** Lets pending promise callbacks and microtasks run, up to a bound, until `ready`. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !ready(); i++) await new Promise((r) => setImmediate(r));
  if (!ready()) throw new Error(`never: ${what}`);
}

function start(kube: FakeKube, io: MemoryIo): Promise<number> {
  return watchCommand(kube, { namespace: 'test', name: 'podinfo' }, io);
}

describe('watch, not in a terminal', () => {
  it('writes a line per change of phase, weight or message, and ends when deleted', async () => {
    const kube = new FakeKube(at('Progressing', 10, 'Advance rollout podinfo.test weight 10'));
    const io = memoryIo(kube);
    const done = start(kube, io);
    await until(() => kube.sink !== undefined, 'the watch to start');
    const sink = kube.sink;
    sink?.rollout(at('Progressing', 20, 'Advance rollout podinfo.test weight 20'));
    io.clock.now += 2000;
    sink?.rollout(at('Progressing', 20, 'Advance rollout podinfo.test weight 20'));
    sink?.events?.([event('e1', 'x', '2026-03-01T12:00:00Z')]);
    sink?.rollout(at('Halted', 20, 'Halt rollout podinfo.test success rate 88.89% < 99%'));
    sink?.rollout(undefined);
    expect(await done).toBe(0);
    expect(io.out.text).toBe(
      [
        '2026-03-01T12:00:00Z  Progressing  weight 10%   Advance rollout podinfo.test weight 10',
        '2026-03-01T12:00:00Z  Progressing  weight 20%   Advance rollout podinfo.test weight 20',
        '2026-03-01T12:00:02Z  Halted       weight 20%   Halt rollout podinfo.test success rate 88.89% < 99%',
        '2026-03-01T12:00:02Z  rollout podinfo in namespace test was deleted',
        '',
      ].join('\n'),
    );
    expect(io.out.text).not.toContain('\x1b');
  });

  it('ends with exit 0 on Ctrl-C and reports connection trouble on stderr', async () => {
    const kube = new FakeKube(at('Succeeded', 0, 'idle'));
    const io = memoryIo(kube);
    const done = start(kube, io);
    await until(() => kube.sink !== undefined, 'the watch to start');
    kube.sink?.trouble('watch failed; retrying: connect ECONNREFUSED 127.0.0.1:6443');
    kube.sink?.trouble(undefined);
    io.controller.abort();
    expect(await done).toBe(0);
    expect(io.out.text).toBe('2026-03-01T12:00:00Z  Succeeded    weight 0%    idle\n');
    expect(io.err.text).toBe(
      'warning: watch failed; retrying: connect ECONNREFUSED 127.0.0.1:6443 (retrying)\n',
    );
  });

  it('fails at once, with the sentence, when the Rollout does not exist', async () => {
    const kube = new FakeKube();
    const io = memoryIo(kube);
    await expect(start(kube, io)).rejects.toThrow(
      new CliError('rollout podinfo not found in namespace test'),
    );
    expect(kube.sink).toBeUndefined();
  });
});

describe('watch, in a terminal', () => {
  it('redraws the status in place and restores the cursor at the end', async () => {
    const kube = new FakeKube(at('Progressing', 10, 'Advance rollout podinfo.test weight 10'));
    kube.events = [event('e1', 'Starting rollout for podinfo.test', '2026-03-01T11:59:50Z')];
    const io = memoryIo(kube, { tty: true, columns: 100, rows: 40 });
    const done = start(kube, io);
    await until(() => io.out.text.includes(ANSI.home), 'the first screen');
    expect(io.out.text.startsWith(`${ANSI.hideCursor}\x1b[2J${ANSI.home}`)).toBe(true);
    expect(io.out.text).toContain('Phase:         Progressing');
    expect(io.out.text).toContain('Starting rollout for podinfo.test');
    const before = io.out.text.length;
    kube.sink?.rollout(at('Paused', 10, 'paused by a request'));
    kube.sink?.events?.([
      event('e1', 'Starting rollout for podinfo.test', '2026-03-01T11:59:50Z'),
      event('e2', 'Pausing rollout podinfo.test at weight 10', '2026-03-01T12:00:00Z'),
    ]);
    await until(() => io.out.text.length > before, 'a redraw');
    const screens = io.out.text.split(ANSI.home);
    // Two changes in one go are drawn once.
    expect(screens).toHaveLength(3);
    expect(screens[2]).toContain('Phase:         Paused');
    expect(screens[2]).toContain('Pausing rollout podinfo.test at weight 10');
    // The clock ticks redraw the ages.
    expect(io.ticks).toHaveLength(1);
    io.clock.now += 5000;
    io.ticks[0]?.();
    expect(io.out.text.split(ANSI.home)).toHaveLength(4);
    kube.sink?.rollout(undefined);
    expect(await done).toBe(0);
    expect(
      io.out.text.endsWith(`rollout podinfo in namespace test was deleted\n${ANSI.showCursor}`),
    ).toBe(true);
    expect(io.ticks).toHaveLength(0);
  });

  it('follows the Rollout alone when its Events may not be read', async () => {
    const kube = new FakeKube(at('Progressing', 10, 'x'));
    kube.failures.listEvents = new CliError('user "u" may not list events in namespace test: …');
    const io = memoryIo(kube, { tty: true, columns: 120, rows: 40 });
    const done = start(kube, io);
    await until(() => kube.sink !== undefined, 'the watch to start');
    expect(kube.sink?.events).toBeUndefined();
    io.controller.abort();
    expect(await done).toBe(0);
    expect(io.out.text).toContain(
      'Events: not shown: user "u" may not list events in namespace test',
    );
  });
});
