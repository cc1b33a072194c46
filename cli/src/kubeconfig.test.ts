import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CliError } from './errors.js';
import { loadKubeConfig } from './kubeconfig.js';
import type { ConnectOptions } from './kubeconfig.js';

let dir: string;
let main: string;
let extra: string;

function config(contexts: string, current: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: {server: 'https://one.example:6443'}
- name: c2
  cluster: {server: 'https://two.example:6443'}
users:
- name: u
  user: {token: t}
contexts:
${contexts}
current-context: ${current}
`;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubectl-steerer-'));
  main = join(dir, 'main');
  extra = join(dir, 'extra');
  writeFileSync(
    main,
    config(
      `- name: one
  context: {cluster: c1, user: u, namespace: team}
- name: bare
  context: {cluster: c2, user: u}
- name: broken
  context: {cluster: c9, user: u}`,
      'one',
    ),
  );
  writeFileSync(
    extra,
    config(
      `- name: other
  context: {cluster: c2, user: u, namespace: other}`,
      'other',
    ),
  );
  writeFileSync(join(dir, 'yaml'), 'clusters: [\n');
  writeFileSync(join(dir, 'empty'), 'hello\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function failure(opts: ConnectOptions, env: NodeJS.ProcessEnv = {}, home = dir): string {
  try {
    loadKubeConfig(opts, env, home);
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return (e as CliError).message;
  }
  throw new Error('expected a failure');
}

describe('loadKubeConfig', () => {
  it('takes --kubeconfig, the context and its namespace', () => {
    const c = loadKubeConfig({ kubeconfig: main }, {}, dir);
    expect(c).toMatchObject({
      server: 'https://one.example:6443',
      context: 'one',
      namespace: 'team',
      kubeconfig: `kubeconfig ${main}`,
    });
    expect(loadKubeConfig({ kubeconfig: main, namespace: 'x' }, {}, dir).namespace).toBe('x');
    const bare = loadKubeConfig({ kubeconfig: main, context: 'bare' }, {}, dir);
    expect(bare).toMatchObject({ server: 'https://two.example:6443', namespace: 'default' });
  });

  it('merges the files of $KUBECONFIG, the first one’s current context winning', () => {
    const c = loadKubeConfig(
      { context: 'other' },
      { KUBECONFIG: [main, extra].join(delimiter) },
      dir,
    );
    expect(c).toMatchObject({ context: 'other', namespace: 'other' });
    expect(loadKubeConfig({}, { KUBECONFIG: [main, extra].join(delimiter) }, dir).context).toBe(
      'one',
    );
    // A listed file that does not exist is skipped, as kubectl does.
    const skipped = { KUBECONFIG: [join(dir, 'missing'), extra].join(delimiter) };
    expect(loadKubeConfig({}, skipped, dir).context).toBe('other');
  });

  it('falls back to ~/.kube/config', () => {
    const home = mkdtempSync(join(dir, 'home-'));
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), readFileSync(extra));
    expect(loadKubeConfig({}, {}, home).kubeconfig).toBe(
      `kubeconfig ${join(home, '.kube', 'config')}`,
    );
    rmSync(join(home, '.kube'), { recursive: true });
    expect(failure({}, {}, home)).toBe(
      `no kubeconfig: KUBECONFIG is not set and ${join(home, '.kube', 'config')} does not exist; pass --kubeconfig=FILE or set KUBECONFIG`,
    );
  });

  it('names the file and what is wrong with it', () => {
    expect(failure({ kubeconfig: join(dir, 'missing') })).toBe(
      `kubeconfig ${join(dir, 'missing')} does not exist`,
    );
    expect(failure({}, { KUBECONFIG: join(dir, 'missing') })).toBe(
      `kubeconfig ${join(dir, 'missing')} does not exist`,
    );
    expect(failure({ kubeconfig: join(dir, 'yaml') })).toMatch(
      new RegExp(`^kubeconfig ${join(dir, 'yaml')} cannot be read: [^\\n]+$`),
    );
    expect(failure({ kubeconfig: join(dir, 'empty') })).toBe(
      `kubeconfig ${join(dir, 'empty')} has no current context: pass --context=NAME or run kubectl config use-context NAME`,
    );
    expect(failure({ kubeconfig: main, context: 'nope' })).toBe(
      `context nope is not in kubeconfig ${main}`,
    );
    expect(failure({ kubeconfig: main, context: 'broken' })).toBe(
      `context broken in kubeconfig ${main} names cluster c9, which it does not define`,
    );
  });
});
