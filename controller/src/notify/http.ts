// One POST to a receiver, with a deadline, classified for retry. The receiver's URL is a
// secret (Slack's and Teams' carry their token in it): it never appears in what this
// returns, so logs and metrics cannot leak it.

import type { Attempt } from './delivery.js';

export async function postJson(
  url: string,
  body: string,
  contentType: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Attempt> {
  const deadline = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'user-agent': 'steerer-controller' },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([signal, deadline]),
    });
    await drain(res);
    const code = String(res.status);
    if (res.status >= 200 && res.status < 300) return { ok: true, code };
    // Server trouble and throttling pass; a refusal (bad URL, bad payload) will not.
    const retry = res.status >= 500 || res.status === 429 || res.status === 408;
    return { ok: false, retry, code, error: `HTTP ${res.status}` };
  } catch (e) {
    if (deadline.aborted && !signal.aborted)
      return { ok: false, retry: true, code: 'timeout', error: `no answer within ${timeoutMs}ms` };
    if (signal.aborted) return { ok: false, retry: false, code: 'aborted', error: 'stopped' };
    return { ok: false, retry: true, code: 'network', error: networkError(e) };
  }
}

/** The answer's status is what counts: its body is not read. */
async function drain(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // Already closed.
  }
}

/** A network failure as its error code only (a message may quote the host or URL). */
function networkError(e: unknown): string {
  const cause = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  const code =
    cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string'
      ? cause.code
      : undefined;
  return code ? `connection failed (${code})` : 'connection failed';
}
