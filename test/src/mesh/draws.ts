// Per-request fault draws for each workload: whether this request fails, and how much
// latency it gets. `even` errors come from a request counter (shouldFail); `random` errors
// and sampled latency come from the workload's seeded xoshiro128** streams, one for errors
// and one for latency, so turning latency on does not change which requests fail.

import { shouldFail } from './faults.js';
import { latencyAt } from './latency.js';
import type { FaultProfile } from './model.js';
import { Counters, randomStream, type Xoshiro128 } from './sequence.js';

export interface FaultDraw {
  readonly fail: boolean;
  /** Fixed latencyMs plus the sampled latency (0 without a distribution). */
  readonly latencyMs: number;
  /** The sampled part alone. */
  readonly sampledMs: number;
}

interface Streams {
  readonly tag: string;
  readonly errors: Xoshiro128;
  readonly latency: Xoshiro128;
}

export class FaultDraws {
  private readonly counters = new Counters();
  private readonly streams = new Map<string, Streams>();

  /**
   * The draw for the next request to workload `key` (`ns/name`). `origin` names where the
   * profile came from (`annotations`, or an override revision): the workload's random
   * streams restart from the seed whenever the origin or the seed changes, so a test that
   * sets an override and then sends requests sees the same outcomes on every run.
   */
  next(key: string, profile: FaultProfile, origin: string): FaultDraw {
    const n = this.counters.take(key);
    const random = profile.errorMode === 'random';
    const s = random || profile.latency ? this.streamsFor(key, profile, origin) : undefined;
    const fail =
      s !== undefined && random
        ? s.errors.next() < profile.errorRatio
        : shouldFail(n, profile.errorRatio);
    const sampledMs =
      s !== undefined && profile.latency ? latencyAt(profile.latency, s.latency.nextOpen()) : 0;
    return { fail, latencyMs: profile.latencyMs + sampledMs, sampledMs };
  }

  private streamsFor(key: string, profile: FaultProfile, origin: string): Streams {
    const seed = profile.seed ?? 0;
    const tag = `${origin}|${seed}`;
    const current = this.streams.get(key);
    if (current?.tag === tag) return current;
    const fresh: Streams = {
      tag,
      errors: randomStream(seed, key, 'errors'),
      latency: randomStream(seed, key, 'latency'),
    };
    this.streams.set(key, fresh);
    return fresh;
  }
}
