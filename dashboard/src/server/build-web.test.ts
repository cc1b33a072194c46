import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { DASHBOARD_DIR, buildWeb, webIsFresh } from './build-web.js';

const out = mkdtempSync(join(tmpdir(), 'dashboard-bundle-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('buildWeb', () => {
  it('bundles the page with nothing of Steerer but the isomorphic model, and no CDN', async () => {
    const r = await buildWeb(out, false);
    const repo = join(DASHBOARD_DIR, '..');
    const inputs = r.inputs.map((f) => relative(repo, join(repo, f)));
    // Third-party modules (uPlot; the model's own @noble/hashes) are fine; of Steerer, only these.
    const ours = inputs.filter((f) => !f.startsWith('node_modules/'));
    const outside = ours.filter(
      (f) =>
        !f.startsWith('dashboard/src/web/') &&
        !f.startsWith('dashboard/src/shared/') &&
        !/^common\/(src|dist)\/model\//.test(f),
    );
    expect(outside).toEqual([]);
    expect(inputs.some((f) => f.includes('node_modules/uplot/'))).toBe(true);
    const js = readFileSync(join(out, 'app.js'), 'utf8');
    expect(js).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs|jsdelivr)/);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain(
      '<script type="module" src="/app.js">',
    );
    expect(readFileSync(join(out, 'app.css'), 'utf8')).toContain('.uplot');
    expect(webIsFresh(out)).toBe(true);
    expect(webIsFresh(join(out, 'missing'))).toBe(false);
  });
});
