// Hostile input: at least 100,000 random and mutated AdmissionReview bodies against the
// webhook's HTTP app. Every answer must be 200, 400 or 413 — never a 5xx, a hang or a
// crash — a 200 must be an AdmissionReview that echoes a string uid, and memory must
// stay bounded. FUZZ_CASES and FUZZ_SEED override the count and the seed.

import { describe, expect, it } from '@jest/globals';
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@steerer/common';
import { createApp } from './app.js';
import { WebhookMetrics } from './metrics.js';
import {
  KINDS,
  admissionReview,
  canaryDeployment,
  rollout,
  seedLookup,
  virtualService,
} from './testing.js';

const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const CONCURRENCY = 32;
const MAX_BODY = 256 * 1024;

/** Mulberry32: small, seeded, good enough to drive a fuzzer reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class Fuzzer {
  constructor(private readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  string(): string {
    const kinds = [
      () => '',
      () => 'podinfo',
      () => 'x'.repeat(this.int(5000)),
      () => String.fromCharCode(...Array.from({ length: this.int(40) }, () => this.int(0xffff))),
      () => '"}]\\\u0000\ud800',
      () => 'podinfo",reporter="source',
      () => '../../etc/passwd',
      () => '__proto__',
    ];
    return this.pick(kinds)();
  }
  value(depth = 0): Json {
    const leafs: (() => Json)[] = [
      () => null,
      () => this.r() < 0.5,
      () => this.pick([0, -1, 1e308, -0, 2 ** 53 + 1, 3.14]),
      () => this.string(),
    ];
    if (depth > 4) return this.pick(leafs)();
    const r = this.int(6);
    if (r === 0) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    if (r === 1) {
      const o: Record<string, Json> = {};
      for (let i = 0; i < this.int(4); i++)
        o[
          this.pick([
            'uid',
            'kind',
            'object',
            'metadata',
            'spec',
            '__proto__',
            'constructor',
            this.string(),
          ])
        ] = this.value(depth + 1);
      return o;
    }
    return this.pick(leafs)();
  }
  /** Replaces, deletes or adds one value somewhere in `root` (in place). */
  mutate(root: Json): Json {
    if (root === null || typeof root !== 'object') return this.value();
    let node: Json = root;
    for (let d = 0; d < 6; d++) {
      if (node === null || typeof node !== 'object') break;
      const keys: (string | number)[] = Array.isArray(node)
        ? node.map((_, i) => i)
        : Object.keys(node);
      if (keys.length === 0 || this.r() < 0.3) break;
      const k = this.pick(keys);
      const child = (node as Record<string | number, Json>)[k] as Json;
      if (child === null || typeof child !== 'object' || this.r() < 0.4) {
        const c = node as Record<string | number, Json>;
        const op = this.int(3);
        if (op === 0) delete c[k];
        else c[k] = this.value();
        return root;
      }
      node = child;
    }
    if (node !== null && typeof node === 'object' && !Array.isArray(node))
      node[this.string().slice(0, 20)] = this.value();
    return root;
  }
}

/** Heap in use after a full garbage collection. */
const collect = ((): (() => void) => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();
function liveHeap(): number {
  collect();
  return process.memoryUsage().heapUsed;
}

function deep(n: number, open: string, close: string): string {
  return open.repeat(n) + close.repeat(n);
}

describe('webhook fuzzing', () => {
  it(`answers ${CASES} hostile bodies with only 200, 400 or 413 (404 off the admission paths)`, async () => {
    const app = createApp({
      lookup: seedLookup('Progressing'),
      metrics: new WebhookMetrics({ defaultMetrics: false }),
      logger: silentLogger,
      readiness: () => [],
      maxBodyBytes: MAX_BODY,
    });
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const f = new Fuzzer(prng(SEED));
    const paths = [
      '/mutate/deployments',
      '/validate/rollouts',
      '/validate/virtualservices',
      '/',
      '/metrics',
      '/mutate/deployments?x=1',
    ];
    const bases = (): Json[] => [
      admissionReview({
        kind: KINDS.deployment,
        operation: 'UPDATE',
        object: canaryDeployment({ image: 'b:2' }),
        oldObject: canaryDeployment({ replicas: 0 }),
      }) as Json,
      admissionReview({
        kind: KINDS.rollout,
        operation: 'CREATE',
        object: rollout({ name: 'other' }),
      }) as Json,
      admissionReview({
        kind: KINDS.virtualService,
        operation: 'UPDATE',
        object: virtualService('podinfo', ['podinfo']),
        oldObject: virtualService(),
      }) as Json,
    ];
    const counts = new Map<number, number>();
    const bad: string[] = [];
    let uidMismatch = 0;
    // Memory is bounded when the heap left after a full collection stops growing: compare
    // it once a fifth of the cases have run (caches warm) with the end.
    let heapAtFifth = 0;
    let peakRss = process.memoryUsage().rss;

    const body = (i: number): { path: string; payload: Buffer; uid?: string } => {
      const kind = i % 10;
      const path = kind < 8 ? f.pick(paths.slice(0, 3)) : f.pick(paths);
      if (kind < 5) {
        let review = structuredClone(f.pick(bases()));
        // Half the time keep the envelope and mutate only the objects under review.
        const req = (review as { request: Record<string, Json> }).request;
        const target = i % 2 === 0 ? req : undefined;
        for (let m = 0; m < 1 + f.int(4); m++) {
          if (target) {
            const key = f.pick(['object', 'oldObject']);
            target[key] = f.mutate(target[key] ?? null);
          } else review = f.mutate(review);
        }
        const uid = (review as { request?: { uid?: unknown } } | null)?.request?.uid;
        return {
          path,
          payload: Buffer.from(JSON.stringify(review)),
          ...(typeof uid === 'string' ? { uid } : {}),
        };
      }
      if (kind < 7) return { path, payload: Buffer.from(JSON.stringify(f.value())) };
      if (kind === 7) {
        const text = JSON.stringify(f.pick(bases()));
        return { path, payload: Buffer.from(text.slice(0, f.int(text.length))) };
      }
      if (kind === 8)
        return {
          path,
          payload: Buffer.from(
            f.pick([
              deep(5000, '[', ']'),
              deep(3000, '{"a":', '}').replace(/}$/, '1}'),
              '\u0000\u00ff',
              'null',
              '',
            ]),
          ),
        };
      if (i % 1000 === 9) return { path, payload: Buffer.alloc(MAX_BODY + 1 + f.int(1000), 0x20) };
      return { path, payload: Buffer.from(Array.from({ length: f.int(200) }, () => f.int(256))) };
    };

    const send = (c: { path: string; payload: Buffer; uid?: string }): Promise<void> =>
      new Promise((resolve) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: c.path,
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': c.payload.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (d: Buffer) => chunks.push(d));
            res.on('end', () => {
              const code = res.statusCode ?? 0;
              counts.set(code, (counts.get(code) ?? 0) + 1);
              if (![200, 400, 404, 413].includes(code))
                bad.push(`${code} ${c.path} ${c.payload.toString('utf8', 0, 200)}`);
              if (code === 404 && paths.slice(0, 3).includes(c.path)) bad.push(`404 on ${c.path}`);
              if (code === 200 && c.uid !== undefined) {
                try {
                  const out = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
                    kind?: string;
                    response?: { uid?: string };
                  };
                  if (out.kind !== 'AdmissionReview' || out.response?.uid !== c.uid) uidMismatch++;
                } catch {
                  uidMismatch++;
                }
              }
              resolve();
            });
          },
        );
        req.on('error', (e) => {
          bad.push(`transport error: ${e.message}`);
          resolve();
        });
        req.end(c.payload);
      });

    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < CASES) {
        const i = next++;
        await send(body(i));
        if (i % 5000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (i === Math.floor(CASES / 5)) heapAtFifth = liveHeap();
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - started) / 1000;
    agent.destroy();
    await new Promise((r) => server.close(r));
    const heapGrowthMb = (liveHeap() - heapAtFifth) / 2 ** 20;
    const summary = [...counts.entries()]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    console.log(
      `webhook fuzz: ${CASES} cases (seed ${SEED}) in ${seconds.toFixed(1)}s; answers ${summary}; ` +
        `live heap growth over the last 80% ${heapGrowthMb.toFixed(1)} MiB, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB; violations: ${bad.length + uidMismatch}`,
    );
    expect(bad.slice(0, 10)).toEqual([]);
    expect(uidMismatch).toBe(0);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(CASES);
    expect(counts.get(200) ?? 0).toBeGreaterThan(CASES / 20);
    expect(counts.get(413) ?? 0).toBeGreaterThan(0);
    expect(heapGrowthMb).toBeLessThan(8);
  }, 600_000);
});
