import { describe, expect, it } from '@jest/globals';
import type { RolloutStatus } from '@steerer/common';
import { ControllerMetrics } from './metrics.js';

async function series(m: ControllerMetrics, name: string): Promise<string[]> {
  const text = await m.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

const waiting: RolloutStatus = {
  phase: 'Progressing',
  canaryWeight: 10,
  analysis: {
    check: 'success-rate',
    result: 'Waiting',
    successRate: 100,
    threshold: 99,
    window: '1m',
    samples: 60,
    failures: 0,
    needed: 11,
    confidence: 0.8,
    query: 'sum(rate(x[60s]))',
    time: '2026-11-29T00:00:00Z',
  },
};

describe('ControllerMetrics: the deciding check', () => {
  it('exports its value, bound, samples, needed, confidence, window and query', async () => {
    const m = new ControllerMetrics();
    m.observeRollout('test', 'podinfo', waiting);
    const l = 'namespace="test",name="podinfo",check="success-rate"';
    expect(await series(m, 'steerer_rollout_check_value')).toEqual([
      `steerer_rollout_check_value{${l}} 100`,
    ]);
    expect(await series(m, 'steerer_rollout_check_bound')).toEqual([
      `steerer_rollout_check_bound{${l}} 99`,
    ]);
    expect(await series(m, 'steerer_rollout_check_samples')).toEqual([
      `steerer_rollout_check_samples{${l}} 60`,
    ]);
    expect(await series(m, 'steerer_rollout_check_needed_samples')).toEqual([
      `steerer_rollout_check_needed_samples{${l}} 11`,
    ]);
    expect(await series(m, 'steerer_rollout_check_confidence')).toEqual([
      `steerer_rollout_check_confidence{${l}} 0.8`,
    ]);
    expect(await series(m, 'steerer_rollout_check_window_seconds')).toEqual([
      `steerer_rollout_check_window_seconds{${l}} 60`,
    ]);
    expect(await series(m, 'steerer_rollout_check_info')).toEqual([
      `steerer_rollout_check_info{${l},result="Waiting",query="sum(rate(x[60s]))"} 1`,
    ]);
  });

  it('replaces the series when another check decides, and forgets a deleted rollout', async () => {
    const m = new ControllerMetrics();
    m.observeRollout('test', 'podinfo', waiting);
    m.observeRollout('test', 'podinfo', {
      ...waiting,
      analysis: {
        check: 'p99',
        result: 'Fail',
        value: 2.4,
        unit: '% slower than 500ms',
        threshold: 500,
        window: '30s',
        time: '2026-11-29T00:00:10Z',
      },
    });
    expect(await series(m, 'steerer_rollout_check_bound')).toEqual([
      'steerer_rollout_check_bound{namespace="test",name="podinfo",check="p99"} 500',
    ]);
    expect(await series(m, 'steerer_rollout_check_info')).toEqual([
      'steerer_rollout_check_info{namespace="test",name="podinfo",check="p99",result="Fail",query=""} 1',
    ]);
    m.forgetRollout('test', 'podinfo');
    expect(await series(m, 'steerer_rollout_check_bound')).toEqual([]);
    expect(await series(m, 'steerer_rollout_check_info')).toEqual([]);
  });
});
