import { describe, expect, it } from '@jest/globals';
import { SteererError } from '../errors.js';
import { SERIES_LABEL, promString } from './promql.js';
import { explainQuery, successRateQuery } from './success-rate.js';

/**
 * A lexical check of a PromQL expression: string literals are closed (honouring escapes)
 * and (), {} and [] nest properly outside them. Returns the string literals' values.
 */
function lex(query: string): string[] {
  const stack: string[] = [];
  const strings: string[] = [];
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
  for (let i = 0; i < query.length; i++) {
    const ch = query[i] as string;
    if (ch === '"') {
      let value = '';
      for (i++; ; i++) {
        if (i >= query.length) throw new Error(`unterminated string in ${query}`);
        const c = query[i] as string;
        if (c === '\n') throw new Error('raw newline in a string');
        if (c === '"') break;
        if (c === '\\') {
          const next = query[++i];
          if (next === undefined || !'\\"n'.includes(next)) throw new Error(`bad escape \\${next}`);
          value += next === 'n' ? '\n' : next;
        } else value += c;
      }
      strings.push(value);
    } else if ('({['.includes(ch)) stack.push(ch);
    else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) throw new Error(`unbalanced ${ch} at ${i} in ${query}`);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed ${stack.join('')} in ${query}`);
  return strings;
}

describe('promString', () => {
  it.each([
    ['podinfo', '"podinfo"'],
    ['a"b', '"a\\"b"'],
    ['a\\b', '"a\\\\b"'],
    ['a\nb', '"a\\nb"'],
    ['\\"', '"\\\\\\""'],
    ['', '""'],
  ])('%j → %s', (value, literal) => {
    expect(promString(value)).toBe(literal);
    expect(lex(literal)).toEqual([value]);
  });

  it('keeps an injection attempt inside one literal', () => {
    const evil = 'podinfo"} or vector(1) or up{a="';
    expect(lex(`up{job=${promString(evil)}}`)).toEqual([evil]);
  });
});

describe('successRateQuery', () => {
  const q = successRateQuery('istio_requests_total', 60_000, [
    { namespace: 'test', name: 'podinfo-canary' },
  ]);

  it('has the documented shape', () => {
    const sel =
      'reporter="destination",destination_workload_namespace=~"test",destination_workload=~"podinfo-canary"';
    const by = 'sum by (destination_workload_namespace, destination_workload)';
    const counted = (s: string): string =>
      `((increase(${s}[60s]) and last_over_time(${s}[5m] offset 60s)) or ((last_over_time(${s}[60s]) unless last_over_time(${s}[5m] offset 60s)) and (count_over_time(${s}[60s]) >= 2)))`;
    const total = `${by} ${counted(`istio_requests_total{${sel}}`)}`;
    const bad = `${by} ${counted(`istio_requests_total{${sel},response_code=~"5.."}`)}`;
    expect(q).toBe(
      `label_replace(${total}, "${SERIES_LABEL}", "total", "", "")` +
        ` or label_replace((${bad} or (0 * ${total})), "${SERIES_LABEL}", "bad", "", "")`,
    );
  });

  it('is lexically well formed', () => {
    expect(lex(q)).toContain('podinfo-canary');
  });

  it('rounds the window to whole seconds, at least one', () => {
    expect(successRateQuery('m', 90_400, [{ namespace: 'a', name: 'b' }])).toContain('[90s]');
    expect(successRateQuery('m', 200, [{ namespace: 'a', name: 'b' }])).toContain('[1s]');
  });

  it('matches many workloads with sorted, de-duplicated regex alternatives', () => {
    const many = successRateQuery('istio_requests_total', 30_000, [
      { namespace: 'test', name: 'podinfo-canary' },
      { namespace: 'prod', name: 'api-canary' },
      { namespace: 'test', name: 'api-canary' },
    ]);
    const strings = lex(many);
    expect(strings).toContain('prod|test');
    expect(strings).toContain('api-canary|podinfo-canary');
    expect(strings).not.toContain('prod|test|test');
  });

  it('escapes dots in names so they only match themselves', () => {
    const query = successRateQuery('m', 60_000, [{ namespace: 'test', name: 'podinfo.v2' }]);
    expect(query).toContain('destination_workload=~"podinfo\\\\.v2"');
    const [regex] = lex(query).filter((s) => s.startsWith('podinfo'));
    expect(regex).toBe('podinfo\\.v2');
    const anchored = new RegExp(`^(?:${regex})$`);
    expect(anchored.test('podinfo.v2')).toBe(true);
    expect(anchored.test('podinfoxv2')).toBe(false);
  });

  it.each([
    ['podinfo",reporter="source'],
    ['podinfo"}'],
    ['a|b'],
    ['.*'],
    ['Podinfo'],
    ['pod_info'],
    ['pod info'],
    ['podinfo\n'],
    ['-podinfo'],
    ['podinfo.'],
    [''],
  ])('refuses the workload name %j', (name) => {
    expect(() => successRateQuery('m', 60_000, [{ namespace: 'test', name }])).toThrow(
      SteererError,
    );
    expect(() => successRateQuery('m', 60_000, [{ namespace: 'test', name }])).toThrow(
      'cannot be used in a query',
    );
  });

  it.each([['te"st'], ['test|prod'], ['.*'], ['Test']])('refuses the namespace %j', (namespace) => {
    expect(() => successRateQuery('m', 60_000, [{ namespace, name: 'podinfo' }])).toThrow(
      `namespace ${JSON.stringify(namespace)} cannot be used in a query`,
    );
  });

  it.each([['istio_requests_total{a="b"}'], ['1m'], ['a-b'], ['m or vector(1)'], ['']])(
    'refuses the metric name %j',
    (metric) => {
      expect(() => successRateQuery(metric, 60_000, [{ namespace: 'a', name: 'b' }])).toThrow(
        'metric name',
      );
    },
  );

  it('accepts recording-rule metric names', () => {
    expect(
      lex(successRateQuery('ns:requests:rate', 60_000, [{ namespace: 'a', name: 'b' }])),
    ).toContain('a');
  });

  it('refuses an empty batch', () => {
    expect(() => successRateQuery('m', 60_000, [])).toThrow('no workloads to query');
  });
});

describe('explainQuery', () => {
  it('is the single-workload form with exact matchers', () => {
    const q = explainQuery('istio_requests_total', 60_000, {
      namespace: 'test',
      name: 'podinfo.v2',
    });
    expect(q).toBe(
      'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload="podinfo.v2",response_code!~"5.."}[60s]))' +
        ' / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload="podinfo.v2"}[60s])) * 100',
    );
    expect(lex(q)).toContain('podinfo.v2');
  });

  it('refuses unsafe names too', () => {
    expect(() => explainQuery('m', 1000, { namespace: 'test', name: 'a"b' })).toThrow(SteererError);
  });
});
