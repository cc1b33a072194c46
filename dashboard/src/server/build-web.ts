// Builds the page: src/web bundled for the browser with esbuild (with @steerer/common/model
// and uPlot inside, so it needs no network), plus its HTML and CSS, into dist/public.
// `npm run build -w dashboard` runs it after tsc; the server runs it when dist/public is
// missing or older than its sources (a fresh `tsc -b`).
//
//   node dashboard/dist/server/build-web.js

import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The dashboard workspace (dashboard/), from dist/server or src/server alike. */
export const DASHBOARD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_SOURCES = [
  join(DASHBOARD_DIR, 'src/web'),
  join(DASHBOARD_DIR, 'src/shared'),
  // The isomorphic model bundled into the page.
  join(DASHBOARD_DIR, '../common/dist/model'),
];
export const WEB_OUT = join(DASHBOARD_DIR, 'dist/public');
export const WEB_FILES = ['index.html', 'app.js', 'app.css'] as const;

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Whether dist/public holds every file and none is older than the sources (when present). */
export function webIsFresh(outDir = WEB_OUT): boolean {
  const outputs = WEB_FILES.map((f) => join(outDir, f));
  if (!outputs.every((f) => existsSync(f))) return false;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  return WEB_SOURCES.every((dir) => newest(dir) <= built);
}

export interface BuildResult {
  outDir: string;
  /** Bytes of app.js. */
  bytes: number;
  /** Every module in the bundle, for the test that checks what the page imports. */
  inputs: string[];
}

/** Bundles src/web into `outDir` (default dist/public). */
export async function buildWeb(outDir = WEB_OUT, minify = true): Promise<BuildResult> {
  const { build } = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  const src = join(DASHBOARD_DIR, 'src/web');
  const result = await build({
    entryPoints: [join(src, 'main.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify,
    sourcemap: 'linked',
    metafile: true,
    outfile: join(outDir, 'app.js'),
    logLevel: 'silent',
  });
  const require = createRequire(import.meta.url);
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  writeFileSync(
    join(outDir, 'app.css'),
    `${uplotCss}\n${readFileSync(join(src, 'style.css'), 'utf8')}`,
  );
  copyFileSync(join(src, 'index.html'), join(outDir, 'index.html'));
  return {
    outDir,
    bytes: statSync(join(outDir, 'app.js')).size,
    inputs: Object.keys(result.metafile.inputs),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildWeb();
  process.stdout.write(`built ${r.outDir} (app.js ${Math.round(r.bytes / 1024)} KiB)\n`);
}
