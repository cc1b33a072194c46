// The repository's root, for the judgment benchmark's esbuild bundle. hack/bench.sh bundles
// bench/src/judgment.ts (with the controller's and the model's sources) instead of building
// every workspace with tsc; lib/results.ts and lib/machine.ts import REPO from the e2e
// harness, whose own location would be wrong inside the bundle, so the bundle maps that
// import here. The root is found by walking up to hack/versions.env, wherever this runs from.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepo(from: string): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'hack/versions.env'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(from, '../..');
    dir = up;
  }
}

export const REPO = findRepo(dirname(fileURLToPath(import.meta.url)));
