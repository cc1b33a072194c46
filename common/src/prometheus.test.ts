import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { SteererError } from './model/errors.js';
import { HttpPrometheusClient, parseSampleValue } from './prometheus.js';

interface Received {
  method: string | undefined;
  url: string | undefined;
  contentType: string | undefined;
  body: string;
}

interface TestServer {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];

/** A real HTTP server on a free port; `respond` gets each request after its body arrived. */
async function serve(
  respond: (res: http.ServerResponse, req: Received) => void,
): Promise<TestServer> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        method: req.method,
        url: req.url,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(r);
      respond(res, r);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const s: TestServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(s);
  return s;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function vector(result: { metric: Record<string, string>; value: [number, string] }[]): unknown {
  return { status: 'success', data: { resultType: 'vector', result } };
}

async function failure(p: Promise<unknown>): Promise<SteererError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SteererError);
    return e as SteererError;
  }
  throw new Error('expected the query to fail');
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('HttpPrometheusClient', () => {
  it('returns the samples of a vector', async () => {
    const s = await serve((res) =>
      json(
        res,
        200,
        vector([
          {
            metric: { destination_workload: 'a', steerer_series: 'success' },
            value: [1700000000.5, '99.5'],
          },
          {
            metric: { destination_workload: 'a', steerer_series: 'rate' },
            value: [1700000000.5, '12'],
          },
        ]),
      ),
    );
    const outcomes: string[] = [];
    const client = new HttpPrometheusClient({
      url: s.url,
      timeoutMs: 5000,
      onQuery: (o, ms) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        outcomes.push(o);
      },
    });
    await expect(client.query('up')).resolves.toEqual([
      { labels: { destination_workload: 'a', steerer_series: 'success' }, value: 99.5 },
      { labels: { destination_workload: 'a', steerer_series: 'rate' }, value: 12 },
    ]);
    expect(outcomes).toEqual(['success']);
  });

  it('POSTs the query as a form to /api/v1/query under the base URL', async () => {
    const s = await serve((res) => json(res, 200, vector([])));
    const query = 'sum(rate(m{a="b",c=~"x|y\\\\.z"}[1m])) / 2 + 1 & more';
    await new HttpPrometheusClient({ url: `${s.url}/prometheus//`, timeoutMs: 5000 }).query(query);
    expect(s.requests).toHaveLength(1);
    const [r] = s.requests;
    expect(r).toMatchObject({
      method: 'POST',
      url: '/prometheus/api/v1/query',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(new URLSearchParams(r?.body).get('query')).toBe(query);
  });

  it('returns an empty vector as no samples', async () => {
    const s = await serve((res) => json(res, 200, vector([])));
    await expect(
      new HttpPrometheusClient({ url: s.url, timeoutMs: 5000 }).query('up'),
    ).resolves.toEqual([]);
  });

  it('keeps NaN and infinities', async () => {
    const s = await serve((res) =>
      json(
        res,
        200,
        vector([
          { metric: { s: 'nan' }, value: [1, 'NaN'] },
          { metric: { s: 'inf' }, value: [1, '+Inf'] },
          { metric: { s: '-inf' }, value: [1, '-Inf'] },
          { metric: { s: 'exp' }, value: [1, '1e-3'] },
        ]),
      ),
    );
    const samples = await new HttpPrometheusClient({ url: s.url, timeoutMs: 5000 }).query('x');
    expect(samples.map((x) => x.value)).toEqual([Number.NaN, Infinity, -Infinity, 0.001]);
  });

  it('reports status "error" with its type and message', async () => {
    const s = await serve((res) =>
      json(res, 400, { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }),
    );
    const outcomes: string[] = [];
    const client = new HttpPrometheusClient({
      url: s.url,
      timeoutMs: 5000,
      onQuery: (o) => outcomes.push(o),
    });
    const e = await failure(client.query('su('));
    expect(e).toMatchObject({ code: 'BadResponse', status: 400 });
    expect(e.message).toBe(
      `Prometheus ${s.url} rejected the query (HTTP 400) bad_data: parse error at char 3`,
    );
    expect(outcomes).toEqual(['error']);
  });

  it('reports a body that is not JSON', async () => {
    const s = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    });
    const e = await failure(new HttpPrometheusClient({ url: s.url, timeoutMs: 5000 }).query('up'));
    expect(e).toMatchObject({ code: 'BadResponse', status: 200 });
    expect(e.message).toContain('answered HTTP 200 without JSON');
  });

  it('reports HTTP 500 without JSON', async () => {
    const s = await serve((res) => {
      res.writeHead(500);
      res.end('internal error');
    });
    const e = await failure(new HttpPrometheusClient({ url: s.url, timeoutMs: 5000 }).query('up'));
    expect(e).toMatchObject({ code: 'BadResponse', status: 500 });
    expect(e.message).toContain('HTTP 500');
  });

  it('reports JSON that is not a Prometheus answer', async () => {
    const s = await serve((res) => json(res, 200, [1, 2]));
    const e = await failure(new HttpPrometheusClient({ url: s.url, timeoutMs: 5000 }).query('up'));
    expect(e).toMatchObject({ code: 'BadResponse' });
    expect(e.message).toContain('unexpected body');
  });

  it('refuses a matrix result', async () => {
    const s = await serve((res) =>
      json(res, 200, { status: 'success', data: { resultType: 'matrix', result: [] } }),
    );
    const e = await failure(
      new HttpPrometheusClient({ url: s.url, timeoutMs: 5000 }).query('up[1m]'),
    );
    expect(e).toMatchObject({ code: 'BadResponse' });
    expect(e.message).toContain('returned matrix data, expected a vector');
  });

  it('refuses malformed samples', async () => {
    const s = await serve((res) =>
      json(res, 200, {
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: {}, value: [1] }] },
      }),
    );
    const e = await failure(new HttpPrometheusClient({ url: s.url, timeoutMs: 5000 }).query('up'));
    expect(e).toMatchObject({ code: 'BadResponse' });
    expect(e.message).toContain('malformed sample');
  });

  it('reports a refused connection as a network error with its reason', async () => {
    const s = await serve((res) => json(res, 200, vector([])));
    const url = s.url;
    await s.close();
    const e = await failure(new HttpPrometheusClient({ url, timeoutMs: 5000 }).query('up'));
    expect(e).toMatchObject({ code: 'Network' });
    expect(e.message).toContain(`Prometheus ${url} is unreachable`);
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('times out a server that never answers, within the configured deadline', async () => {
    const s = await serve(() => undefined);
    const started = performance.now();
    const e = await failure(new HttpPrometheusClient({ url: s.url, timeoutMs: 150 }).query('up'));
    const elapsed = performance.now() - started;
    expect(e).toMatchObject({ code: 'Timeout' });
    expect(e.message).toBe(`Prometheus ${s.url} did not answer within 150ms`);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2000);
  });

  it('times out a server that sends headers and then stalls', async () => {
    const s = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"succ');
    });
    const e = await failure(new HttpPrometheusClient({ url: s.url, timeoutMs: 150 }).query('up'));
    expect(e).toMatchObject({ code: 'Timeout' });
  });

  it("reports the caller's abort as Aborted, not a timeout", async () => {
    const s = await serve(() => undefined);
    const ac = new AbortController();
    const p = new HttpPrometheusClient({ url: s.url, timeoutMs: 10_000 }).query('up', ac.signal);
    // Abort once the request has reached the server.
    while (s.requests.length === 0) await new Promise((r) => setImmediate(r));
    ac.abort();
    expect(await failure(p)).toMatchObject({ code: 'Aborted' });
  });

  it('uses an injected fetch', async () => {
    const calls: string[] = [];
    const fake: typeof fetch = (input) => {
      calls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      return Promise.resolve(new Response(JSON.stringify(vector([])), { status: 200 }));
    };
    await new HttpPrometheusClient({
      url: 'http://prom:9090/',
      timeoutMs: 1000,
      fetch: fake,
    }).query('up');
    expect(calls).toEqual(['http://prom:9090/api/v1/query']);
  });
});

describe('HttpPrometheusClient.targets', () => {
  const answer =
    (body: unknown, status = 200): typeof fetch =>
    () =>
      Promise.resolve(new Response(JSON.stringify(body), { status }));

  it("reads each active target's job and scrape interval from the targets API", async () => {
    const calls: string[] = [];
    const body = {
      status: 'success',
      data: {
        activeTargets: [
          { labels: { job: 'mesh', instance: 'a:1' }, scrapeInterval: '15s', health: 'up' },
          { labels: { job: 'nodes' }, scrapeInterval: '1m' },
          { labels: { job: 'old' } },
          { labels: {}, scrapeInterval: '5s' },
        ],
      },
    };
    const fake: typeof fetch = (input, init) => {
      calls.push(
        `${init?.method ?? 'GET'} ${input instanceof Request ? input.url : input.toString()}`,
      );
      return answer(body)(input, init);
    };
    const client = new HttpPrometheusClient({
      url: 'http://prom:9090',
      timeoutMs: 1000,
      fetch: fake,
    });
    expect(await client.targets()).toEqual([
      { job: 'mesh', intervalMs: 15_000 },
      { job: 'nodes', intervalMs: 60_000 },
    ]);
    expect(calls).toEqual(['GET http://prom:9090/api/v1/targets?state=active']);
  });

  it('says so when the server has no targets API', async () => {
    const client = new HttpPrometheusClient({
      url: 'http://thanos:9090',
      timeoutMs: 1000,
      fetch: answer({ status: 'error', error: 'not found' }, 404),
    });
    await expect(client.targets()).rejects.toThrow(
      'Prometheus http://thanos:9090 has no targets API (HTTP 404)',
    );
  });
});

describe('parseSampleValue', () => {
  it.each([
    ['1', 1],
    ['99.5', 99.5],
    ['-2', -2],
    ['1e3', 1000],
    ['NaN', Number.NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
  ])('%s → %d', (text, value) => {
    expect(parseSampleValue(text)).toBe(value);
  });

  it.each([[''], [' '], ['abc'], ['12abc']])('refuses %j', (text) => {
    expect(parseSampleValue(text)).toBeUndefined();
  });
});
