import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '@steerer/common';
import { OVERLAY_TTL_MS, WriteOverlay, rvNumber } from './overlay.js';

function obj(rv: string | undefined, label = rv ?? 'none'): KubeObject {
  return {
    metadata: {
      name: 'podinfo',
      namespace: 'test',
      ...(rv === undefined ? {} : { resourceVersion: rv }),
      labels: { v: label },
    },
  };
}

function overlay(): { o: WriteOverlay; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { o: new WriteOverlay(OVERLAY_TTL_MS, () => clock.now), clock };
}

const ID = 'deployment:test/podinfo';

describe('rvNumber', () => {
  it.each([
    ['42', 42],
    [undefined, -1],
    ['', -1],
    ['abc', -1],
  ])('%j → %d', (rv, n) => {
    expect(rvNumber(obj(rv))).toBe(n);
  });

  it('is -1 without an object', () => {
    expect(rvNumber(undefined)).toBe(-1);
  });
});

describe('WriteOverlay', () => {
  it('returns the cached object when nothing was written', () => {
    const { o } = overlay();
    const cached = obj('5');
    expect(o.read(ID, cached)).toBe(cached);
    expect(o.read(ID, undefined)).toBeUndefined();
  });

  it('prefers a recorded write over an older cached object', () => {
    const { o } = overlay();
    const written = obj('7', 'written');
    o.record(ID, written);
    expect(o.read(ID, obj('5'))).toBe(written);
    expect(o.read(ID, obj('6'))).toBe(written);
    expect(o.size).toBe(1);
  });

  it('prefers a recorded write while the informer has not seen the object at all', () => {
    const { o } = overlay();
    const written = obj('7');
    o.record(ID, written);
    expect(o.read(ID, undefined)).toBe(written);
  });

  it('returns the cached object once the informer caught up, and forgets the write', () => {
    const { o } = overlay();
    o.record(ID, obj('7', 'written'));
    const same = obj('7', 'cached');
    expect(o.read(ID, same)).toBe(same);
    expect(o.size).toBe(0);
    // Even an older cached object wins now: the write is forgotten.
    const older = obj('6');
    expect(o.read(ID, older)).toBe(older);
  });

  it('returns a newer cached object', () => {
    const { o } = overlay();
    o.record(ID, obj('7'));
    const newer = obj('9');
    expect(o.read(ID, newer)).toBe(newer);
  });

  it('compares resourceVersions as numbers, not strings', () => {
    const { o } = overlay();
    const written = obj('10');
    o.record(ID, written);
    expect(o.read(ID, obj('9'))).toBe(written);
  });

  it('forgets a write after the TTL', () => {
    const { o, clock } = overlay();
    const written = obj('7');
    o.record(ID, written);
    clock.now += OVERLAY_TTL_MS;
    expect(o.read(ID, obj('5'))).toBe(written);
    clock.now += 1;
    const cached = obj('5');
    expect(o.read(ID, cached)).toBe(cached);
    expect(o.size).toBe(0);
  });

  it('keeps writes of different objects apart', () => {
    const { o } = overlay();
    const a = obj('7', 'a');
    o.record('deployment:test/a', a);
    const cachedB = obj('1', 'b');
    expect(o.read('deployment:test/b', cachedB)).toBe(cachedB);
    expect(o.read('deployment:test/a', obj('1'))).toBe(a);
    expect(o.read('service:test/a', undefined)).toBeUndefined();
  });

  it('lets a newer write replace an older one', () => {
    const { o } = overlay();
    o.record(ID, obj('7'));
    const newer = obj('8');
    o.record(ID, newer);
    expect(o.read(ID, obj('7'))).toBe(newer);
  });

  it('drops a write the informer saw deleted afterwards', () => {
    const { o } = overlay();
    o.record(ID, obj('7'));
    o.deleted(ID, obj('8'));
    expect(o.read(ID, undefined)).toBeUndefined();
  });

  it('keeps a write newer than a deletion it was told about late', () => {
    const { o } = overlay();
    const written = obj('9');
    o.record(ID, written);
    o.deleted(ID, obj('4')); // a relist reporting an old incarnation gone
    expect(o.read(ID, undefined)).toBe(written);
  });

  it('treats a non-numeric resourceVersion as unknown: the cache wins', () => {
    const { o } = overlay();
    o.record(ID, obj('x'));
    const cached = obj('1');
    expect(o.read(ID, cached)).toBe(cached);
  });
});
