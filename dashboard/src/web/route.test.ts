import { describe, expect, it } from '@jest/globals';
import { byKey, matches } from './overview.js';
import { overviewHash, rolloutHash, routeOf } from './route.js';
import { outcomeText } from './actions.js';

describe('routes', () => {
  it('tells the overview from a Rollout, both ways', () => {
    expect(routeOf('')).toEqual({ kind: 'overview', namespace: '', text: '' });
    expect(routeOf('#/?namespace=test&q=pod')).toEqual({
      kind: 'overview',
      namespace: 'test',
      text: 'pod',
    });
    expect(routeOf(rolloutHash('test', 'podinfo'))).toEqual({
      kind: 'rollout',
      namespace: 'test',
      name: 'podinfo',
    });
    expect(overviewHash({ namespace: 'test', text: '' })).toBe('#/?namespace=test');
    expect(overviewHash()).toBe('#/');
  });
});

describe('the overview', () => {
  const s = { namespace: 'shop', name: 'cart-api', canaryWeight: 0, failedChecks: 0 };

  it('filters by namespace and by text in the name or namespace', () => {
    expect(matches(s, { namespace: '', text: '' })).toBe(true);
    expect(matches(s, { namespace: 'shop', text: 'CART' })).toBe(true);
    expect(matches(s, { namespace: 'test', text: '' })).toBe(false);
    expect(matches(s, { namespace: '', text: 'sho' })).toBe(true);
    expect(matches(s, { namespace: '', text: 'billing' })).toBe(false);
  });

  it('sorts numbers in names in order', () => {
    expect(['ns/app10', 'ns/app2', 'a/app1'].sort(byKey)).toEqual([
      'a/app1',
      'ns/app2',
      'ns/app10',
    ]);
  });
});

describe('outcomeText', () => {
  it('says what the controller made of a request, and names a 403 as such', () => {
    expect(
      outcomeText('abort', {
        ok: true,
        value: { state: 'handled', outcome: 'Done', message: 'rolling back' },
      }),
    ).toEqual({ text: 'abort: Done — rolling back', ok: true });
    expect(
      outcomeText('promote', { ok: false, status: 403, error: 'user "viewer" may not patch …' }),
    ).toEqual({ text: 'promote: Forbidden (HTTP 403): user "viewer" may not patch …', ok: false });
    expect(
      outcomeText('pause', {
        ok: true,
        value: { state: 'replaced', by: 'abort', outcome: 'Done', message: '' },
      }).text,
    ).toBe('pause was replaced by abort before the controller handled it; abort: Done');
    expect(outcomeText('pause', { ok: false, status: 0, error: 'no server' }).text).toBe(
      'pause: Not sent: no server',
    );
  });
});
