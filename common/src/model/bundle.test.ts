// The model (and the planner built on it) must run in a browser: bundle them for one with
// esbuild and fail if a Node built-in, the logger or a Kubernetes/Prometheus client is
// pulled in. The root entry point, which does pull those in, is the control.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';
import type { BuildFailure, Metafile } from 'esbuild';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const NODE_ONLY = /(^|\/)node_modules\/(winston|prom-client|@kubernetes\/client-node|jsonpatch)\//;

async function bundleForBrowser(entry: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [join(REPO, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    // The sources, as jest reads them (not a possibly stale dist/).
    alias: { '@steerer/common/model': join(REPO, 'common/src/model/index.ts') },
  });
  return result.metafile;
}

function isBuildFailure(e: unknown): e is BuildFailure {
  return typeof e === 'object' && e !== null && 'errors' in e && Array.isArray(e.errors);
}

describe('the isomorphic model', () => {
  it.each([
    ['the model (@steerer/common/model)', 'common/src/model/index.ts'],
    ['the planner', 'controller/src/planner/plan.ts'],
  ])('%s bundles for the browser without Node-only code', async (_name, entry) => {
    const meta = await bundleForBrowser(entry);
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((f) => NODE_ONLY.test(f))).toEqual([]);
    expect(inputs.filter((f) => f.startsWith('node:'))).toEqual([]);
    expect(inputs.some((f) => f.endsWith('common/src/model/template.ts'))).toBe(true);
  });

  it('control: the root entry point (logger, clients) cannot be bundled for the browser', async () => {
    const failure = await bundleForBrowser('common/src/index.ts').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBuildFailure(failure)).toBe(true);
    if (!isBuildFailure(failure)) return;
    const texts = failure.errors.map((m) => m.text).join('\n');
    expect(texts).toMatch(/node:|"(http|https|readline|crypto|os|fs|util)"/);
  });
});
