// Prometheus range queries for the timeline, asked by the dashboard's server (the page never
// talks to Prometheus). Failures become one sentence naming the server and what went wrong.

import { ErrorCode, SteererError, errorMessage, isErrorLike, isJsonMap } from '@steerer/common';
import { parseSampleValue } from '@steerer/common';

/** One series of a range answer: its labels and its [seconds, value] points. */
export interface RangeSeries {
  labels: Record<string, string>;
  points: [number, number][];
}

export interface RangeQuery {
  query: string;
  /** Seconds since the epoch. */
  start: number;
  end: number;
  step: number;
}

export interface RangeClient {
  readonly url: string;
  range(q: RangeQuery, signal?: AbortSignal): Promise<RangeSeries[]>;
}

function pointsOf(values: unknown): [number, number][] {
  if (!Array.isArray(values)) return [];
  const out: [number, number][] = [];
  for (const v of values) {
    if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'string') continue;
    const n = parseSampleValue(v[1]);
    if (n !== undefined && Number.isFinite(n)) out.push([v[0], n]);
  }
  return out;
}

function text(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

/** The series of a query_range answer, or why the answer is not one. */
export function readRangeAnswer(url: string, status: number, body: unknown): RangeSeries[] {
  if (!isJsonMap(body) || body.status !== 'success') {
    const detail = isJsonMap(body)
      ? `${text(body.errorType, 'error')}: ${text(body.error, 'unknown')}`
      : 'an answer that is not Prometheus JSON';
    throw new SteererError(
      ErrorCode.BadResponse,
      `Prometheus ${url} refused the query (HTTP ${status}): ${detail}`,
      {
        status,
      },
    );
  }
  const data = body.data;
  if (!isJsonMap(data) || data.resultType !== 'matrix' || !Array.isArray(data.result)) {
    throw new SteererError(ErrorCode.BadResponse, `Prometheus ${url} did not answer with a matrix`);
  }
  return data.result.flatMap((r) => {
    if (!isJsonMap(r) || !isJsonMap(r.metric)) return [];
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.metric)) if (typeof v === 'string') labels[k] = v;
    return [{ labels, points: pointsOf(r.values) }];
  });
}

export class HttpRangeClient implements RangeClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 10_000,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  async range(q: RangeQuery, signal?: AbortSignal): Promise<RangeSeries[]> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const form = new URLSearchParams({
      query: q.query,
      start: String(q.start),
      end: String(q.end),
      step: String(q.step),
    });
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url.replace(/\/+$/, '')}/api/v1/query_range`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        signal: combined,
      });
    } catch (e) {
      throw this.failure(e, timeout);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (e) {
      if (timeout.aborted) throw this.failure(e, timeout);
      throw new SteererError(
        ErrorCode.BadResponse,
        `Prometheus ${this.url} answered HTTP ${res.status} without JSON: is it Prometheus?`,
        { status: res.status },
      );
    }
    return readRangeAnswer(this.url, res.status, body);
  }

  private failure(e: unknown, timeout: AbortSignal): SteererError {
    if (timeout.aborted) {
      return new SteererError(
        ErrorCode.Timeout,
        `Prometheus ${this.url} did not answer within ${Math.round(this.timeoutMs / 1000)}s`,
      );
    }
    const reason = isErrorLike(e) && e.cause !== undefined ? errorMessage(e.cause) : '';
    return new SteererError(
      ErrorCode.Network,
      `Prometheus ${this.url} is unreachable: ${errorMessage(e)}${reason ? ` (${reason})` : ''}`,
    );
  }
}
