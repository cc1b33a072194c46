import { describe, expect, it } from '@jest/globals';
import { ErrorCode, SteererError } from '@steerer/common';
import { HttpRangeClient, readRangeAnswer } from './prometheus.js';

const URL = 'http://prometheus.test:9090';
const Q = { query: 'up', start: 100, end: 200, step: 10 };

function answer(status: number, body: unknown): typeof fetch {
  return () =>
    Promise.resolve(
      new Response(typeof body === 'string' ? body : JSON.stringify(body), { status }),
    );
}

describe('readRangeAnswer', () => {
  it('reads the series of a matrix, skipping values that are not numbers', () => {
    expect(
      readRangeAnswer(URL, 200, {
        status: 'success',
        data: {
          resultType: 'matrix',
          result: [
            { metric: { job: 'mesh' }, values: [[100, '1'], [110, 'NaN'], [120, '2.5'], 'x'] },
          ],
        },
      }),
    ).toEqual([
      {
        labels: { job: 'mesh' },
        points: [
          [100, 1],
          [120, 2.5],
        ],
      },
    ]);
  });

  it("refuses Prometheus's errors and answers that are not a matrix, naming the server", () => {
    expect(() =>
      readRangeAnswer(URL, 400, { status: 'error', errorType: 'bad_data', error: 'parse error' }),
    ).toThrow(`Prometheus ${URL} refused the query (HTTP 400): bad_data: parse error`);
    expect(() =>
      readRangeAnswer(URL, 200, { status: 'success', data: { resultType: 'vector', result: [] } }),
    ).toThrow('did not answer with a matrix');
  });
});

describe('HttpRangeClient', () => {
  it('posts query_range and reads the answer', async () => {
    const seen: string[] = [];
    const client = new HttpRangeClient(`${URL}/`, 1000, (input, init) => {
      seen.push(
        `${input instanceof Request ? input.url : input.toString()} ${typeof init?.body === 'string' ? init.body : ''}`,
      );
      return answer(200, { status: 'success', data: { resultType: 'matrix', result: [] } })(input);
    });
    expect(await client.range(Q)).toEqual([]);
    expect(seen).toEqual([`${URL}/api/v1/query_range query=up&start=100&end=200&step=10`]);
  });

  it('says when Prometheus is unreachable, slow, or not Prometheus', async () => {
    const refused = new HttpRangeClient(URL, 1000, () =>
      Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })),
    );
    await expect(refused.range(Q)).rejects.toThrow(
      `Prometheus ${URL} is unreachable: fetch failed (connect ECONNREFUSED)`,
    );
    const slow = new HttpRangeClient(URL, 20, (_i, init) => {
      return new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
      );
    });
    const e = await slow.range(Q).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SteererError);
    expect((e as SteererError).code).toBe(ErrorCode.Timeout);
    const html = new HttpRangeClient(URL, 1000, answer(200, '<html>'));
    await expect(html.range(Q)).rejects.toThrow('without JSON: is it Prometheus?');
  });
});
