// Reads Prometheus text exposition (the controller's and the mesh simulator's /metrics)
// into samples, and sums them by name and label filter.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePromText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL))
      if (l[1] !== undefined && l[2] !== undefined) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels match `filter` (string or RegExp values). */
export function sum(
  samples: readonly PromSample[],
  name: string,
  filter: Record<string, string | RegExp> = {},
): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    let ok = true;
    for (const [k, want] of Object.entries(filter)) {
      const v = s.labels[k] ?? '';
      if (typeof want === 'string' ? v !== want : !want.test(v)) {
        ok = false;
        break;
      }
    }
    if (ok) total += s.value;
  }
  return total;
}

/** Sums by the value of one label, e.g. requests per verb. */
export function sumBy(
  samples: readonly PromSample[],
  name: string,
  label: string,
  filter: Record<string, string | RegExp> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    if (
      Object.entries(filter).some(([k, w]) =>
        typeof w === 'string' ? s.labels[k] !== w : !w.test(s.labels[k] ?? ''),
      )
    )
      continue;
    const key = s.labels[label] ?? '';
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

export async function scrape(url: string): Promise<PromSample[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return parsePromText(await res.text());
}
