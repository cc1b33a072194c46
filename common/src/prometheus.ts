// A minimal Prometheus HTTP API client: instant queries, with a deadline, typed results
// and errors that say which server failed and how.

import { tryParseDuration } from './model/duration.js';
import { isJsonMap } from './model/json.js';
import { ErrorCode, SteererError, errorMessage, isErrorLike } from './model/errors.js';
import type { Sample } from './model/checks/check.js';

export interface PrometheusClient {
  /** Runs an instant query; resolves to the vector's samples. */
  query(promql: string, signal?: AbortSignal): Promise<Sample[]>;
  /**
   * The active scrape targets' jobs and scrape intervals (the targets API). Optional:
   * servers that only answer queries (some long-term stores) have no targets.
   */
  targets?(signal?: AbortSignal): Promise<ScrapeTarget[]>;
}

/** One active scrape target, as far as Steerer cares. */
export interface ScrapeTarget {
  job: string;
  /** The target's scrape interval, in milliseconds. */
  intervalMs: number;
}

export interface HttpPrometheusOptions {
  url: string;
  timeoutMs: number;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Called once per query with its outcome, for metrics. */
  onQuery?: (outcome: 'success' | 'error', durationMs: number) => void;
}

interface VectorResponse {
  status: 'success' | 'error';
  error?: string;
  errorType?: string;
  data?: {
    resultType: string;
    result: unknown[];
  };
}

function isVectorResponse(v: unknown): v is VectorResponse {
  return typeof v === 'object' && v !== null && 'status' in v;
}

export class HttpPrometheusClient implements PrometheusClient {
  private readonly endpoint: string;

  constructor(private readonly options: HttpPrometheusOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, '')}/api/v1/query`;
  }

  async query(promql: string, signal?: AbortSignal): Promise<Sample[]> {
    const started = performance.now();
    try {
      const samples = await this.run(promql, signal);
      this.options.onQuery?.('success', performance.now() - started);
      return samples;
    } catch (e) {
      this.options.onQuery?.('error', performance.now() - started);
      throw e;
    }
  }

  private async run(promql: string, signal?: AbortSignal): Promise<Sample[]> {
    const { body, status } = await this.request(this.endpoint, signal, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: promql }).toString(),
    });
    return this.samples(body, status);
  }

  async targets(signal?: AbortSignal): Promise<ScrapeTarget[]> {
    const url = `${this.options.url.replace(/\/+$/, '')}/api/v1/targets?state=active`;
    const { body, status } = await this.request(url, signal, { method: 'GET' });
    const data = isJsonMap(body) && body.status === 'success' ? body.data : undefined;
    const active = isJsonMap(data) ? data.activeTargets : undefined;
    if (!Array.isArray(active)) {
      throw new SteererError(
        ErrorCode.BadResponse,
        `Prometheus ${this.options.url} has no targets API (HTTP ${status})`,
        { status },
      );
    }
    const out: ScrapeTarget[] = [];
    for (const t of active) {
      if (!isJsonMap(t) || !isJsonMap(t.labels) || typeof t.scrapeInterval !== 'string') continue;
      const job = t.labels.job;
      const intervalMs = tryParseDuration(t.scrapeInterval);
      if (typeof job === 'string' && intervalMs !== undefined) out.push({ job, intervalMs });
    }
    return out;
  }

  /** One HTTP request with the deadline; the JSON body and status. */
  private async request(
    url: string,
    signal: AbortSignal | undefined,
    init: RequestInit,
  ): Promise<{ body: unknown; status: number }> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await (this.options.fetch ?? fetch)(url, { ...init, signal: combined });
    } catch (e) {
      throw this.failure(e, timeout, signal, 'unreachable');
    }
    try {
      return { body: await res.json(), status: res.status };
    } catch (e) {
      // The deadline covers the body too: a server that sends headers and then stalls.
      throw this.failure(e, timeout, signal, res.status);
    }
  }

  /**
   * Why a request failed: our deadline, the caller's abort, no connection, or (with an
   * HTTP status) an answer that is not JSON.
   */
  private failure(
    e: unknown,
    timeout: AbortSignal,
    signal: AbortSignal | undefined,
    status: number | 'unreachable',
  ): SteererError {
    const url = this.options.url;
    if (timeout.aborted) {
      return new SteererError(
        ErrorCode.Timeout,
        `Prometheus ${url} did not answer within ${this.options.timeoutMs}ms`,
        { cause: e },
      );
    }
    if (signal?.aborted) return new SteererError(ErrorCode.Aborted, 'query aborted', { cause: e });
    if (status !== 'unreachable') {
      return new SteererError(
        ErrorCode.BadResponse,
        `Prometheus ${url} answered HTTP ${status} without JSON`,
        { cause: e, status },
      );
    }
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is its cause.
    const reason = isErrorLike(e) && e.cause !== undefined ? errorMessage(e.cause) : '';
    return new SteererError(
      ErrorCode.Network,
      `Prometheus ${url} is unreachable: ${errorMessage(e)}${reason ? ` (${reason})` : ''}`,
      { cause: e },
    );
  }

  /** The samples of a query's JSON answer, or why the answer is not a usable vector. */
  private samples(body: unknown, status: number): Sample[] {
    const url = this.options.url;
    if (!isVectorResponse(body) || body.status !== 'success') {
      const detail = isVectorResponse(body)
        ? `${body.errorType ?? 'error'}: ${body.error ?? 'unknown'}`
        : 'unexpected body';
      throw new SteererError(
        ErrorCode.BadResponse,
        `Prometheus ${url} rejected the query (HTTP ${status}) ${detail}`,
        { status },
      );
    }
    const data = body.data;
    if (!data || data.resultType !== 'vector' || !Array.isArray(data.result)) {
      throw new SteererError(
        ErrorCode.BadResponse,
        `Prometheus ${url} returned ${data?.resultType ?? 'no'} data, expected a vector`,
      );
    }
    return data.result.map((r) => {
      const value = isSample(r) ? parseSampleValue(r.value[1]) : undefined;
      if (!isSample(r) || value === undefined) {
        throw new SteererError(
          ErrorCode.BadResponse,
          `Prometheus ${url} returned a malformed sample: ${JSON.stringify(r).slice(0, 200)}`,
        );
      }
      return { labels: r.metric, value };
    });
  }
}

function isSample(r: unknown): r is { metric: Record<string, string>; value: [number, string] } {
  if (typeof r !== 'object' || r === null) return false;
  const { metric, value } = r as { metric?: unknown; value?: unknown };
  return (
    typeof metric === 'object' &&
    metric !== null &&
    !Array.isArray(metric) &&
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[1] === 'string'
  );
}

/** A sample value as Prometheus formats it: a float, "NaN", "+Inf" or "-Inf". */
export function parseSampleValue(text: string): number | undefined {
  switch (text) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  const n = text.trim() === '' ? Number.NaN : Number(text);
  return Number.isNaN(n) ? undefined : n;
}
