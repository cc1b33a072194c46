// One timeline chart: uPlot inside a figure with a caption and a sentence of its latest
// values (the canvas is not read out, the sentence is). The chart follows its container's
// width; `set` replaces the data, `append` adds one point live.

import uPlot from 'uplot';
import { h } from './dom.js';
import { latestSentence, show } from './lines.js';

export interface LineSpec {
  label: string;
  stroke: string;
  dash?: number[];
  /** Drawn as steps (the weight), not interpolated. */
  stepped?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  lines: LineSpec[];
  /** Fixed y range (percentages: 0–100); otherwise fitted to the data. */
  range?: [number, number];
}

/** x (seconds) then one array per line. */
export type ChartData = [number[], ...(number | null)[][]];

const HEIGHT = 220;

export class Chart {
  readonly figure: HTMLElement;
  private readonly plotBox: HTMLDivElement;
  private readonly summary: HTMLParagraphElement;
  private readonly problemLine: HTMLParagraphElement;
  private plot: uPlot | undefined;
  private data: ChartData;
  private readonly resize: ResizeObserver;

  constructor(
    readonly spec: ChartSpec,
    extra?: Node,
  ) {
    const captionId = `${spec.id}-caption`;
    this.plotBox = h('div', { class: 'plot', 'aria-hidden': 'true' });
    this.summary = h('p', { class: 'summary', id: `${spec.id}-summary` });
    this.problemLine = h('p', { class: 'problem', hidden: true });
    this.figure = h(
      'figure',
      { id: spec.id, 'aria-labelledby': captionId, 'aria-describedby': `${spec.id}-summary` },
      h('figcaption', { id: captionId }, spec.title),
      this.problemLine,
      this.plotBox,
      this.summary,
      extra,
    );
    this.data = [[], ...spec.lines.map(() => [])];
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(this.figure);
  }

  private width(): number {
    return Math.max(280, this.figure.clientWidth - 20);
  }

  private fit(): void {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 4) {
      this.plot.setSize({ width: this.width(), height: HEIGHT });
    }
  }

  private create(): uPlot {
    const { spec } = this;
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      scales: { x: { time: true }, y: spec.range ? { range: spec.range } : {} },
      series: [
        {},
        ...spec.lines.map((l): uPlot.Series => ({
          label: l.label,
          stroke: l.stroke,
          width: 2,
          dash: l.dash,
          spanGaps: l.stepped === true,
          paths: l.stepped ? uPlot.paths.stepped?.({ align: 1 }) : undefined,
          value: (_u, v) => show(v, spec.unit),
        })),
      ],
      axes: [
        { stroke: '#3c4550', grid: { stroke: '#e3e7ec' } },
        {
          stroke: '#3c4550',
          grid: { stroke: '#e3e7ec' },
          size: 56,
          values: (_u, ticks) => ticks.map((t) => show(t, spec.unit)),
        },
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    return new uPlot(opts, this.data, this.plotBox);
  }

  set(data: ChartData): void {
    this.data = data;
    if (this.plot) this.plot.setData(data);
    else this.plot = this.create();
    this.summary.textContent = latestSentence(this.spec, data);
  }

  /** Adds a point at `t` seconds (a live change between two timeline loads). */
  append(t: number, line: number, value: number): void {
    const [xs, ...lines] = this.data;
    if (xs.length > 0 && t <= (xs[xs.length - 1] ?? 0)) return;
    xs.push(t);
    lines.forEach((values, i) => values.push(i === line ? value : null));
    this.set([xs, ...lines]);
  }

  problem(message: string | undefined): void {
    this.problemLine.hidden = message === undefined;
    this.problemLine.textContent = message ?? '';
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
  }
}
