// Capped exponential backoff with full jitter.

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: { initialMs: number; maxMs: number; random?: () => number }) {}

  /** The delay before the next attempt; grows until `maxMs`. */
  next(): number {
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const r = (this.opts.random ?? Math.random)();
    return Math.round(ceiling / 2 + (ceiling / 2) * r);
  }

  reset(): void {
    this.attempt = 0;
  }
}
