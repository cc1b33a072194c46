// The user's kubeconfig as kubectl would pick it: --kubeconfig, else $KUBECONFIG (a list of
// files, merged), else ~/.kube/config, else the in-cluster service account; then --context
// and the namespace (-n, else the context's, else "default"). Every way this can fail is
// one sentence naming the file.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '@steerer/common';
import { CliError } from './errors.js';
import type { Target } from './errors.js';

export interface ConnectOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
}

export interface LoadedConfig extends Target {
  kc: KubeConfig;
  /** The namespace commands act in unless -A. */
  namespace: string;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function readError(file: string, e: unknown): CliError {
  const code = (e as { code?: unknown }).code;
  if (code === 'ENOENT') return new CliError(`kubeconfig ${file} does not exist`);
  if (code === 'EACCES')
    return new CliError(`kubeconfig ${file} cannot be read (permission denied)`);
  // YAML errors quote the file over several lines: the first says what is wrong.
  const first = errorMessage(e).split('\n')[0]?.trim() ?? '';
  return new CliError(`kubeconfig ${file} cannot be read: ${first}`);
}

/** Loads the files kubectl would use, or throws a CliError; returns how to name them. */
function loadFiles(
  kc: KubeConfig,
  opts: ConnectOptions,
  env: NodeJS.ProcessEnv,
  home: string,
): string {
  if (opts.kubeconfig !== undefined) {
    try {
      kc.loadFromFile(opts.kubeconfig);
    } catch (e) {
      throw readError(opts.kubeconfig, e);
    }
    return `kubeconfig ${opts.kubeconfig}`;
  }
  const files = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const fallback = join(home, '.kube', 'config');
  if (files.length === 0 && !existsSync(fallback)) {
    if (existsSync(IN_CLUSTER_TOKEN)) {
      kc.loadFromCluster();
      return 'the in-cluster service account';
    }
    throw new CliError(
      `no kubeconfig: KUBECONFIG is not set and ${fallback} does not exist; ` +
        'pass --kubeconfig=FILE or set KUBECONFIG',
    );
  }
  const listed = files.length > 0 ? files : [fallback];
  // As kubectl: files of $KUBECONFIG that do not exist are skipped, unless none does.
  const used = listed.filter((f) => existsSync(f));
  mergeFiles(kc, used.length > 0 ? used : listed);
  return `kubeconfig ${listed.join(delimiter)}`;
}

function readFile(file: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (e) {
    throw readError(file, e);
  }
  return kc;
}

/**
 * Merges kubeconfig files as kubectl does: the first file to name a cluster, user or context
 * (or to set current-context) wins. (client-node's mergeConfig refuses duplicates, and lets
 * the last file's current-context win.)
 */
function mergeFiles(kc: KubeConfig, files: readonly string[]): void {
  const all = files.map(readFile);
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const item of lists.flat()) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  kc.loadFromOptions({
    clusters: firstByName(all.map((c) => c.getClusters())),
    users: firstByName(all.map((c) => c.getUsers())),
    contexts: firstByName(all.map((c) => c.getContexts())),
    currentContext: all.map((c) => c.getCurrentContext()).find(Boolean) ?? '',
  });
}

export function loadKubeConfig(
  opts: ConnectOptions,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): LoadedConfig {
  const kc = new KubeConfig();
  const kubeconfig = loadFiles(kc, opts, env, home);
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context)) {
      throw new CliError(`context ${opts.context} is not in ${kubeconfig}`);
    }
    kc.setCurrentContext(opts.context);
  }
  const context = kc.getCurrentContext();
  const contextObject = context ? kc.getContextObject(context) : null;
  if (!context || !contextObject) {
    throw new CliError(
      `${kubeconfig} has no current context: pass --context=NAME or run kubectl config use-context NAME`,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new CliError(
      `context ${context} in ${kubeconfig} names cluster ${contextObject.cluster}, which it does not define`,
    );
  }
  const namespace = opts.namespace ?? (contextObject.namespace || 'default');
  return { kc, kubeconfig, context, server: cluster.server, namespace };
}
