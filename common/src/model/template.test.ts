import { describe, expect, it } from '@jest/globals';
import { canonicalJson, jsonEqual } from './json.js';
import type { LabelSelector, PodTemplate } from './objects.js';
import { promotedTemplate, sameTemplate, templateRevision } from './template.js';

// The tests' oracle: which of a selector's keys a template's labels fail to satisfy.
/** Whether `labels` satisfy one matchExpressions requirement. */
function meets(
  labels: Record<string, string>,
  e: NonNullable<LabelSelector['matchExpressions']>[number],
): boolean {
  const has = Object.hasOwn(labels, e.key);
  const value = labels[e.key];
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(value as string);
    case 'NotIn':
      return !has || !(e.values ?? []).includes(value as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
}

/**
 * Label keys of the primary's selector (matchLabels and matchExpressions) that the
 * template's labels fail to satisfy; empty when the selector matches the template.
 */
function missingSelectorLabels(template: PodTemplate, selector: LabelSelector): string[] {
  const labels = template.metadata?.labels ?? {};
  const missing = Object.entries(selector.matchLabels ?? {})
    .filter(([k, v]) => labels[k] !== v)
    .map(([k]) => k);
  for (const e of selector.matchExpressions ?? []) {
    if (!meets(labels, e) && !missing.includes(e.key)) missing.push(e.key);
  }
  return missing;
}

function template(opts: { app?: string; image?: string; color?: string } = {}): PodTemplate {
  return {
    metadata: {
      labels: { app: opts.app ?? 'podinfo-canary', version: 'v2' },
      annotations: { 'prometheus.io/scrape': 'true' },
    },
    spec: {
      containers: [
        {
          name: 'podinfod',
          image: opts.image ?? 'quay.io/stefanprodan/podinfo:1.2.0',
          env: [{ name: 'PODINFO_UI_COLOR', value: opts.color ?? 'blue' }],
          ports: [{ containerPort: 9898, name: 'http', protocol: 'TCP' }],
        },
      ],
      restartPolicy: 'Always',
    },
  };
}

/** The same template with every object's keys in reverse order. */
function reversedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversedKeys) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).reverse())
    out[k] = reversedKeys((value as Record<string, unknown>)[k]);
  return out as T;
}

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
});

/** A small deterministic generator (mulberry32): a failing case names its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['a', 'b', 'B', '', '0', '10', 'ä', 'k"q'];
const LEAVES: unknown[] = [null, undefined, true, false, 0, -0, 1, 1.5, '', 'a', '0', 'null'];

function pick<T>(next: () => number, from: readonly T[]): T {
  return from[Math.floor(next() * from.length)] as T;
}

function jsonValue(next: () => number, depth: number): unknown {
  const r = next();
  if (depth >= 3 || r < 0.35) return pick(next, LEAVES);
  const n = Math.floor(next() * 4);
  if (r < 0.6) return Array.from({ length: n }, () => jsonValue(next, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) o[pick(next, KEYS)] = jsonValue(next, depth + 1);
  return o;
}

/** A copy with keys reordered and, sometimes, one small change somewhere. */
function variant(next: () => number, v: unknown, change: { left: boolean }): unknown {
  const mutate = change.left && next() < 0.15;
  if (mutate) change.left = false;
  if (Array.isArray(v)) {
    const out = v.map((x) => variant(next, x, change));
    if (mutate) out.push(pick(next, LEAVES));
    return out;
  }
  if (v === null || typeof v !== 'object') return mutate ? pick(next, LEAVES) : v;
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v).reverse())
    o[k] = variant(next, (v as Record<string, unknown>)[k], change);
  if (mutate) o[pick(next, KEYS)] = pick(next, LEAVES);
  return o;
}

describe('jsonEqual', () => {
  it('agrees with comparing canonical JSON, for random values and near copies', () => {
    let equal = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      const next = random(seed);
      const a = jsonValue(next, 0);
      const b = variant(next, a, { left: next() < 0.7 });
      const want = canonicalJson(a) === canonicalJson(b);
      if (want) equal++;
      expect({ seed, equal: jsonEqual(a, b) }).toEqual({ seed, equal: want });
      expect({ seed, equal: jsonEqual(b, a) }).toEqual({ seed, equal: want });
    }
    // Both answers were exercised many times.
    expect(equal).toBeGreaterThan(1000);
    expect(equal).toBeLessThan(4900);
  });

  it('treats an absent member and an undefined one alike, and null as a value', () => {
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: null }, { a: 1 })).toBe(false);
    expect(jsonEqual([undefined], [null])).toBe(true);
    expect(jsonEqual([1, null], [1])).toBe(false);
    expect(jsonEqual([1, undefined], [1])).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual({ 0: 'x' }, ['x'])).toBe(false);
  });
});

describe('templateRevision', () => {
  it('is ten hex digits', () => {
    expect(templateRevision(template())).toMatch(/^[0-9a-f]{10}$/);
  });

  it('names the same template the same way across Steerer versions', () => {
    // Revisions are stored in annotations and status; a new serialisation must not rename them.
    expect(templateRevision(template())).toBe('de7535cf59');
    expect(templateRevision({})).toBe('6aa688af15');
  });

  it('does not depend on key order', () => {
    const t = template();
    const r = reversedKeys(t);
    expect(JSON.stringify(r)).not.toBe(JSON.stringify(t));
    expect(templateRevision(r)).toBe(templateRevision(t));
    expect(sameTemplate(r, t)).toBe(true);
  });

  it("ignores Steerer's own labels and annotations", () => {
    const t = template();
    const marked = structuredClone(t);
    marked.metadata = {
      ...marked.metadata,
      labels: { ...marked.metadata?.labels, 'steerer.io/role': 'canary' },
      annotations: { ...marked.metadata?.annotations, 'steerer.io/revision': 'abc' },
    };
    expect(templateRevision(marked)).toBe(templateRevision(t));
    expect(sameTemplate(marked, t)).toBe(true);
  });

  it('changes when the image, an env value, a label or an annotation changes', () => {
    const base = templateRevision(template());
    const changed = [
      template({ image: 'quay.io/stefanprodan/podinfo:1.3.0' }),
      template({ color: 'green' }),
      template({ app: 'podinfo' }),
      { ...template(), metadata: { ...template().metadata, annotations: { x: 'y' } } },
      { ...template(), spec: { ...template().spec, restartPolicy: 'Never' } },
    ];
    const revisions = changed.map(templateRevision);
    for (const r of revisions) expect(r).not.toBe(base);
    expect(new Set(revisions).size).toBe(revisions.length);
    for (const t of changed) expect(sameTemplate(t, template())).toBe(false);
  });

  it('treats a key like steerer.io.example/x as a change (only the steerer.io/ prefix is ignored)', () => {
    const t = template();
    t.metadata = { ...t.metadata, labels: { ...t.metadata?.labels, 'steerer.io.example/x': '1' } };
    expect(templateRevision(t)).not.toBe(templateRevision(template()));
  });

  it('counts a missing metadata or spec as empty', () => {
    expect(templateRevision({})).toBe(templateRevision({ metadata: {}, spec: {} }));
    expect(sameTemplate({}, { metadata: { labels: {}, annotations: {} } })).toBe(true);
  });
});

describe('promotedTemplate', () => {
  const primarySelector: LabelSelector = { matchLabels: { app: 'podinfo' } };
  const canarySelector: LabelSelector = { matchLabels: { app: 'podinfo-canary' } };
  const primary = template({ app: 'podinfo', image: 'quay.io/stefanprodan/podinfo:1.1.0' });

  it("takes the canary's template with the primary's selector labels", () => {
    const canary = template();
    const out = promotedTemplate(canary, primary, primarySelector, canarySelector);
    expect(out).toEqual({
      metadata: {
        labels: { app: 'podinfo', version: 'v2' },
        annotations: { 'prometheus.io/scrape': 'true' },
      },
      spec: canary.spec,
    });
    expect(missingSelectorLabels(out, primarySelector)).toEqual([]);
  });

  it("drops labels only the canary's selector uses", () => {
    const canary = template();
    canary.metadata = {
      ...canary.metadata,
      labels: { app: 'podinfo', track: 'canary', team: 'a' },
    };
    const out = promotedTemplate(canary, primary, primarySelector, {
      matchLabels: { app: 'podinfo', track: 'canary' },
    });
    expect(out.metadata?.labels).toEqual({ app: 'podinfo', team: 'a' });
  });

  it('drops labels the canary selects on with matchExpressions', () => {
    const canary = template();
    canary.metadata = { ...canary.metadata, labels: { app: 'podinfo-canary', track: 'canary' } };
    const out = promotedTemplate(canary, primary, primarySelector, {
      matchLabels: { app: 'podinfo-canary' },
      matchExpressions: [{ key: 'track', operator: 'In', values: ['canary'] }],
    });
    expect(out.metadata?.labels).toEqual({ app: 'podinfo' });
  });

  it("keeps the primary's values for keys its matchExpressions use", () => {
    const sel: LabelSelector = {
      matchLabels: { app: 'podinfo' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'edge'] }],
    };
    const p = structuredClone(primary);
    p.metadata = { ...p.metadata, labels: { app: 'podinfo', tier: 'edge' } };
    const canary = template();
    canary.metadata = { ...canary.metadata, labels: { app: 'podinfo-canary', tier: 'batch' } };
    const out = promotedTemplate(canary, p, sel, canarySelector);
    expect(out.metadata?.labels).toEqual({ app: 'podinfo', tier: 'edge' });
    expect(missingSelectorLabels(out, sel)).toEqual([]);
  });

  it('fills a matchLabels key the primary template lacks from the selector', () => {
    const p = structuredClone(primary);
    p.metadata = {};
    const out = promotedTemplate(template(), p, primarySelector, canarySelector);
    expect(out.metadata?.labels?.app).toBe('podinfo');
  });

  it('copies other metadata fields', () => {
    const canary = template();
    canary.metadata = { ...canary.metadata, name: 'ignored-by-the-api', finalizers: ['x'] };
    const out = promotedTemplate(canary, primary, primarySelector, canarySelector);
    expect(out.metadata).toMatchObject({ name: 'ignored-by-the-api', finalizers: ['x'] });
  });

  it('shares no objects with its inputs', () => {
    const canary = template();
    const p = structuredClone(primary);
    const canaryBefore = structuredClone(canary);
    const primaryBefore = structuredClone(p);
    const out = promotedTemplate(canary, p, primarySelector, canarySelector);
    const containers = out.spec?.containers as { image: string; env: { value: string }[] }[];
    (containers[0] as { image: string }).image = 'mutated';
    (containers[0]?.env[0] as { value: string }).value = 'mutated';
    (out.metadata?.labels as Record<string, string>).extra = 'x';
    (out.metadata?.annotations as Record<string, string>)['prometheus.io/scrape'] = 'false';
    out.metadata!.finalizers = ['y'];
    expect(canary).toEqual(canaryBefore);
    expect(p).toEqual(primaryBefore);
    // And the other way round: later edits of the inputs do not reach the result.
    const fresh = promotedTemplate(canary, p, primarySelector, canarySelector);
    const snapshot = structuredClone(fresh);
    (canary.metadata?.annotations as Record<string, string>).added = '1';
    (canary.spec?.containers as { image: string }[])[0]!.image = 'later';
    expect(fresh).toEqual(snapshot);
  });

  it('handles a canary template without metadata or spec', () => {
    expect(promotedTemplate({}, primary, primarySelector, canarySelector)).toEqual({
      metadata: { labels: { app: 'podinfo' } },
      spec: {},
    });
  });
});

describe('missingSelectorLabels', () => {
  const labels = (l: Record<string, string>): PodTemplate => ({ metadata: { labels: l } });

  it('names matchLabels keys that are absent or differ', () => {
    const sel = { matchLabels: { app: 'podinfo', tier: 'web', zone: 'a' } };
    expect(missingSelectorLabels(labels({ app: 'podinfo', tier: 'api' }), sel)).toEqual([
      'tier',
      'zone',
    ]);
    expect(missingSelectorLabels({}, sel)).toEqual(['app', 'tier', 'zone']);
    expect(
      missingSelectorLabels(labels({ app: 'podinfo', tier: 'web', zone: 'a', x: 'y' }), sel),
    ).toEqual([]);
  });

  it.each([
    ['In', ['web'], { k: 'web' }, true],
    ['In', ['web'], { k: 'api' }, false],
    ['In', ['web'], {}, false],
    ['NotIn', ['web'], { k: 'api' }, true],
    ['NotIn', ['web'], {}, true],
    ['NotIn', ['web'], { k: 'web' }, false],
    ['Exists', undefined, { k: '' }, true],
    ['Exists', undefined, {}, false],
    ['DoesNotExist', undefined, {}, true],
    ['DoesNotExist', undefined, { k: 'x' }, false],
    ['Matches', ['x'], { k: 'x' }, false],
  ] as const)('%s %j against %j matches: %s', (operator, values, l, matches) => {
    const sel: LabelSelector = {
      matchExpressions: [{ key: 'k', operator, ...(values ? { values: [...values] } : {}) }],
    };
    expect(missingSelectorLabels(labels(l), sel)).toEqual(matches ? [] : ['k']);
  });

  it('names a key once when both matchLabels and an expression fail on it', () => {
    const sel: LabelSelector = {
      matchLabels: { k: 'a' },
      matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }],
    };
    expect(missingSelectorLabels(labels({ k: 'b' }), sel)).toEqual(['k']);
  });
});
