// Runs the helm that hack/ builds (pinned in hack/versions.env), for the chart's unit tests
// and its e2e suites, and parses what `helm template` renders.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART = join(REPO, 'charts/steerer');

/** The seed's install values, exactly as the seed prints them. */
export const SEED_SET = [
  '--set',
  'metricsServer=http://prometheus.istio-system:9090',
  '--set',
  'controlLoopInterval=1m',
] as const;

/**
 * The image every install that renders a Deployment must name (there is no published
 * one; the chart fails without it). kwok runs no containers, so nothing pulls it.
 */
export const IMAGE_REPOSITORY = 'registry.example.com/steerer';
export const IMAGE_TAG = '0.1.0-test';
export const IMAGE_SET = [
  '--set',
  `image.repository=${IMAGE_REPOSITORY}`,
  '--set',
  `image.tag=${IMAGE_TAG}`,
] as const;

/** What the chart says when no image is set and a Deployment needs one. */
export const NO_IMAGE_MESSAGE =
  "steerer: set image.repository (and image.tag) to an image built from this repository's Dockerfile: there is no published image yet. See charts/steerer/README.md#image";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      command,
      [...args],
      { cwd: REPO, env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolvePromise({ code, stdout, stderr: stderr || (err && code !== 0 ? err.message : '') });
      },
    );
  });
}

/** A variable of hack/versions.env, e.g. KUBERNETES_VERSION → "v1.36.3". */
export function pinnedVersion(name: string): string {
  const text = readFileSync(join(REPO, 'hack/versions.env'), 'utf8');
  const m = new RegExp(`^${name}=(\\S+)$`, 'm').exec(text);
  if (!m?.[1]) throw new Error(`hack/versions.env does not pin ${name}`);
  return m[1];
}

/** --kube-version for helm template/lint: the local cluster's version, without the "v". */
export const KUBE_VERSION = pinnedVersion('KUBERNETES_VERSION').replace(/^v/, '');

let helmPath: string | undefined;

/** The cached helm binary; fails with how to build it when it is not there. */
export async function helmBinary(): Promise<string> {
  if (helmPath) return helmPath;
  const r = await run('bash', ['-c', '. hack/lib/common.sh; tool_dir helm "$HELM_VERSION"']);
  const dir = r.stdout.trim();
  const bin = join(dir, 'helm');
  if (r.code !== 0 || !dir || !existsSync(bin)) {
    throw new Error(
      `helm ${pinnedVersion('HELM_VERSION')} is not built (looked for ${bin || '?'}${r.stderr ? `: ${r.stderr.trim()}` : ''}). ` +
        'Run `bash hack/build-tools.sh` (or `npm run cluster:up`, which builds it) first.',
    );
  }
  helmPath = bin;
  return bin;
}

export async function helm(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return run(await helmBinary(), args, env);
}

/** A Kubernetes object as rendered: loosely typed, read through the helpers below. */
export interface Rendered {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** `helm template` of the chart with extra arguments; throws with helm's message on failure. */
export async function renderChart(
  args: readonly string[],
  namespace = 'istio-system',
): Promise<Rendered[]> {
  const r = await helm([
    'template',
    'steerer',
    CHART,
    `--namespace=${namespace}`,
    '--kube-version',
    KUBE_VERSION,
    ...args,
  ]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseManifests(r.stdout);
}

export function parseManifests(text: string): Rendered[] {
  const out: Rendered[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML rendered: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as Rendered | null;
    if (obj) out.push(obj);
  }
  return out;
}

export function findObject(objects: readonly Rendered[], kind: string, name: string): Rendered {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} rendered; have: ${have}`);
  }
  return found;
}
