// Minimal Prometheus text exposition (format 0.0.4): label escaping, counters, gauges and
// histograms whose series are created on first observation, so an idle workload has no
// series at all. Hand-written to keep the hot path to one Map lookup per sample.

export type LabelPairs = readonly (readonly [string, string])[];

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** `a="1",b="2"` (without braces). */
export function formatLabels(pairs: LabelPairs): string {
  return pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function withBraces(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

/** A family of counter or gauge samples keyed by their formatted labels. */
export class SampleFamily {
  private readonly samples = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  inc(labels: string, by = 1): void {
    this.samples.set(labels, (this.samples.get(labels) ?? 0) + by);
  }

  set(labels: string, value: number): void {
    this.samples.set(labels, value);
  }

  clear(): void {
    this.samples.clear();
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const [labels, value] of this.samples) {
      out.push(`${this.name}${withBraces(labels)} ${formatValue(value)}`);
    }
  }
}

export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: string,
    private readonly buckets: readonly number[],
  ) {
    this.counts = new Float64Array(buckets.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    const { buckets } = this;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= (buckets[i] ?? Infinity)) {
        this.counts[i] = (this.counts[i] ?? 0) + 1;
        return;
      }
    }
  }

  render(name: string, out: string[]): void {
    const prefix = this.labels === '' ? '' : `${this.labels},`;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i] ?? 0;
      out.push(
        `${name}_bucket{${prefix}le="${formatValue(this.buckets[i] ?? Infinity)}"} ${cumulative}`,
      );
    }
    out.push(`${name}_bucket{${prefix}le="+Inf"} ${this.count}`);
    out.push(`${name}_sum${withBraces(this.labels)} ${formatValue(this.sum)}`);
    out.push(`${name}_count${withBraces(this.labels)} ${this.count}`);
  }
}

export function renderHistogramHeader(name: string, help: string, out: string[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
}
