// Where the Kubernetes client's server and credentials come from, read without loading
// client-node. Its KubeConfig imports the whole generated API (every group's request
// factories and models): ~25 MiB of heap and ~55 MiB of resident memory in a process that
// uses none of it, more than everything the controller caches at 1,000 Rollouts. So the
// common cases are read here — the in-cluster service account, and kubeconfig files whose
// users carry client certificates, tokens, token files or a user name and password — and
// client-node is imported only for what it alone handles (exec and auth-provider plugins,
// proxies), where it is then used as before.

import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { isIPv6 } from 'node:net';
import { parse } from 'yaml';

/**
 * What KubeClient needs of a kubeconfig: the server, and the TLS options and headers of a
 * request to it. client-node's KubeConfig has the same shape, so either may be passed.
 */
export interface KubeCredentials {
  getCurrentCluster(): { readonly server: string; readonly skipTLSVerify?: boolean } | null;
  /** Fills in CA, client certificate, TLS verification and Authorization; may re-read files. */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** The service account's files in a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeCredentialsOptions {
  /** --kubeconfig; otherwise $KUBECONFIG, ~/.kube/config, then the pod's service account. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Injected for tests. */
  home?: string;
  serviceAccountDir?: string;
}

/** A source of bytes: inline (base64 `-data`) or a file read at every refresh. */
type Source = { data: Buffer } | { file: string } | undefined;

interface Resolved {
  server: string;
  skipTLSVerify: boolean;
  serverName?: string | undefined;
  ca: Source;
  cert: Source;
  key: Source;
  token?: { value: string } | { file: string } | undefined;
  basic?: string | undefined;
}

class StaticCredentials implements KubeCredentials {
  constructor(private readonly r: Resolved) {}

  getCurrentCluster(): { server: string; skipTLSVerify: boolean } {
    return { server: this.r.server, skipTLSVerify: this.r.skipTLSVerify };
  }

  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const read = (s: Source): Buffer | undefined =>
      s === undefined ? undefined : 'data' in s ? s.data : readFileSync(s.file);
    const ca = read(this.r.ca);
    const cert = read(this.r.cert);
    const key = read(this.r.key);
    if (ca) opts.ca = ca;
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    if (this.r.skipTLSVerify) opts.rejectUnauthorized = false;
    if (this.r.serverName) opts.servername = this.r.serverName;
    const t = this.r.token;
    const token = t && ('value' in t ? t.value : readFileSync(t.file, 'utf8').trim());
    if (token) opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
    if (this.r.basic && !token) opts.auth = this.r.basic;
    return Promise.resolve();
  }
}

type Named<T> = { name?: unknown } & Record<string, T>;

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A kubeconfig's entries of one list (clusters, users, contexts), by name; first wins. */
function byName(docs: Record<string, unknown>[], list: string, field: string) {
  const out = new Map<string, { entry: Record<string, unknown>; dir: string }>();
  for (const d of docs) {
    const items = d[list];
    if (!Array.isArray(items)) continue;
    for (const item of items as Named<unknown>[]) {
      const name = str(item.name);
      if (name !== undefined && !out.has(name))
        out.set(name, { entry: record(item[field]), dir: String(d.__dir) });
    }
  }
  return out;
}

/** Why client-node must read this kubeconfig, or undefined when it can be read here. */
function needsClientNode(cluster: Record<string, unknown>, user: Record<string, unknown>) {
  if (user.exec !== undefined) return 'an exec credential plugin';
  if (user['auth-provider'] !== undefined) return 'an auth provider';
  if (cluster['proxy-url'] !== undefined) return 'a proxy';
  return undefined;
}

function source(entry: Record<string, unknown>, field: string, dir: string): Source {
  const data = str(entry[`${field}-data`]);
  if (data !== undefined) return { data: Buffer.from(data, 'base64') };
  const file = str(entry[field]);
  if (file !== undefined) return { file: isAbsolute(file) ? file : join(dir, file) };
  return undefined;
}

/**
 * Reads kubeconfig files (merged as kubectl does: the first file naming an entry wins, the
 * first current-context wins). Returns undefined when they need client-node.
 */
function fromFiles(files: string[]): Resolved | undefined {
  const docs = files.map((f): Record<string, unknown> => ({
    ...record(parse(readFileSync(f, 'utf8'))),
    __dir: dirname(f),
  }));
  const current = docs.map((d) => str(d['current-context'])).find((c) => c !== undefined);
  if (current === undefined) throw new Error(`no current-context in ${files.join(', ')}`);
  const context = byName(docs, 'contexts', 'context').get(current)?.entry;
  if (!context) throw new Error(`context ${current} is not defined in ${files.join(', ')}`);
  const clusterName = str(context.cluster) ?? '';
  const cluster = byName(docs, 'clusters', 'cluster').get(clusterName);
  if (!cluster) throw new Error(`cluster ${clusterName} of context ${current} is not defined`);
  const userName = str(context.user);
  const user = (userName !== undefined && byName(docs, 'users', 'user').get(userName)) || {
    entry: {},
    dir: '.',
  };
  if (needsClientNode(cluster.entry, user.entry) !== undefined) return undefined;
  const server = str(cluster.entry.server);
  if (server === undefined) throw new Error(`cluster ${clusterName} has no server`);
  const token = str(user.entry.token);
  const tokenFile = str(user.entry.tokenFile);
  const username = str(user.entry.username);
  const password = str(user.entry.password);
  return {
    server,
    skipTLSVerify: cluster.entry['insecure-skip-tls-verify'] === true,
    serverName: str(cluster.entry['tls-server-name']),
    ca: source(cluster.entry, 'certificate-authority', cluster.dir),
    cert: source(user.entry, 'client-certificate', user.dir),
    key: source(user.entry, 'client-key', user.dir),
    token:
      token !== undefined
        ? { value: token }
        : tokenFile !== undefined
          ? { file: isAbsolute(tokenFile) ? tokenFile : join(user.dir, tokenFile) }
          : undefined,
    basic: username !== undefined ? `${username}:${password ?? ''}` : undefined,
  };
}

/** The pod's service account: the token is re-read at every refresh (it is rotated). */
function inCluster(env: NodeJS.ProcessEnv, dir: string): Resolved | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !existsSync(join(dir, 'token'))) return undefined;
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const h = isIPv6(host) ? `[${host}]` : host;
  return {
    server: `${scheme}://${h}${port ? `:${port}` : ''}`,
    skipTLSVerify: false,
    ca: { file: join(dir, 'ca.crt') },
    cert: undefined,
    key: undefined,
    token: { file: join(dir, 'token') },
  };
}

/**
 * The credentials of the kubeconfig kubectl would use (--kubeconfig, $KUBECONFIG,
 * ~/.kube/config), else of the pod's service account, else http://localhost:8080. A
 * kubeconfig needing an exec or auth-provider plugin or a proxy is handed to client-node.
 */
export async function loadKubeCredentials(
  o: LoadKubeCredentialsOptions = {},
): Promise<KubeCredentials> {
  const env = o.env ?? process.env;
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
  const home = join(o.home ?? homedir(), '.kube', 'config');
  const files = o.file
    ? [o.file]
    : listed.length > 0
      ? listed.filter((f) => existsSync(f))
      : existsSync(home)
        ? [home]
        : [];
  if (files.length > 0) {
    const resolved = fromFiles(files);
    if (resolved) return new StaticCredentials(resolved);
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    if (o.file) kc.loadFromFile(o.file);
    else kc.loadFromDefault();
    return kc;
  }
  const pod = inCluster(env, o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  if (pod) return new StaticCredentials(pod);
  return new StaticCredentials({
    server: 'http://localhost:8080',
    skipTLSVerify: false,
    ca: undefined,
    cert: undefined,
    key: undefined,
  });
}
